"""The stored breakdown as rows, and one peer's rows beside the winner's: pure, no database."""

import pytest

from matching.explain import breakdown_details, compare_breakdowns

BREAKDOWN = {
    "credential_fit": 40.0,
    "language": 0.0,
    "total": 40.0,
    "rows": [
        {"component": "language", "label": "Requested language", "points": 0.0, "max": 30.0, "note": "none"},
        {
            "component": "credential_fit",
            "label": "Credential fit",
            "points": 40.0,
            "max": 40.0,
            "note": "CRPA",
        },
    ],
}


class TestBreakdownDetails:
    def test_it_lists_the_stored_rows_in_component_order(self):
        rows = breakdown_details(BREAKDOWN)
        assert [(r.component, r.points, r.max, r.note) for r in rows] == [
            ("credential_fit", 40.0, 40.0, "CRPA"),
            ("language", 0.0, 30.0, "none"),
        ]

    def test_it_reads_a_breakdown_of_points_only(self):
        rows = breakdown_details({"fairness": 5, "language": 30, "junk": "x"})
        assert [(r.label, r.points) for r in rows] == [
            ("Requested language", 30.0),
            ("Fairness (assignments in the last 7 days)", 5.0),
        ]

    @pytest.mark.parametrize("empty", [None, {}])
    def test_it_gives_nothing_for_an_empty_breakdown(self, empty):
        assert breakdown_details(empty) == []


class TestCompareBreakdowns:
    def test_it_puts_the_winners_points_beside_and_measures_the_gaps(self):
        winner = {"credential_fit": 40.0, "language": 30.0}
        rows = compare_breakdowns(BREAKDOWN, winner)
        assert [(r.label, r.points, r.winner_points, r.gap) for r in rows] == [
            ("Credential fit", 40.0, 40.0, 0.0),
            ("Requested language", 0.0, 30.0, 30.0),
        ]

    def test_it_leaves_the_winner_out_when_there_is_none(self):
        rows = compare_breakdowns(BREAKDOWN, None)
        assert {r.winner_points for r in rows} == {None}
        assert {r.gap for r in rows} == {0.0}
