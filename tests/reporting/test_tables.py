import datetime as dt

from reporting import tables
from reporting.selectors import Outcomes, RequestSummary
from reporting.tables import COUNT, DURATION, RATE, TEXT, format_cell, format_duration


class TestFormatting:
    def test_it_formats_durations_for_people(self):
        assert format_duration(dt.timedelta(seconds=42)) == "42 s"
        assert format_duration(dt.timedelta(minutes=7, seconds=30)) == "7 min 30 s"
        assert format_duration(dt.timedelta(minutes=15)) == "15 min"
        assert format_duration(dt.timedelta(hours=2, minutes=5, seconds=9)) == "2 h 5 min"
        assert format_duration(None) == "–"

    def test_it_formats_each_kind(self):
        assert format_cell(0.8333, RATE) == "83.3 %"
        assert format_cell(12345, COUNT) == "12,345"
        assert format_cell("Hudson ED", TEXT) == "Hudson ED"
        assert format_cell(None, RATE) == "–"
        assert format_cell(dt.timedelta(minutes=2), DURATION) == "2 min"


class TestSummaryTable:
    def test_it_shows_and_exports_each_figure_in_its_own_unit(self):
        summary = RequestSummary(Outcomes(5, 3, 1, 1), dt.timedelta(minutes=15), None)
        table = tables.summary_table(summary, agency_view=False)
        shown = {label: value for (label, _), (value, _) in table.display_rows()}
        exported = dict(table.csv_rows())
        assert shown["Fill rate"] == "60.0 %" and exported["Fill rate"] == 0.6
        assert (
            shown["Median time to assignment"] == "15 min" and exported["Median time to assignment"] == 900.0
        )
        assert shown["90th percentile time to assignment"] == "–"
        assert exported["90th percentile time to assignment"] == ""

    def test_it_words_an_agencys_fills_as_its_own(self):
        summary = RequestSummary(Outcomes(5, 2, 1, 1), None, None)
        labels = [row[0] for row in tables.summary_table(summary, agency_view=True).rows]
        assert "Filled by your peers" in labels
        assert "Active, or filled by another agency" in labels


class TestLabelledRows:
    def test_each_cell_carries_its_columns_label_for_a_stacked_table(self):
        summary = RequestSummary(Outcomes(5, 3, 1, 1), dt.timedelta(minutes=15), None)
        table = tables.summary_table(summary, agency_view=False)
        labels = [column.label for column in table.columns]
        for shown, labelled in zip(table.display_rows(), table.labelled_rows(), strict=True):
            assert [(value, numeric) for value, numeric, _label in labelled] == shown
            assert [label for _value, _numeric, label in labelled] == labels
