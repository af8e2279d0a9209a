"""Every report pinned on the hand-built month of tests/reporting/conftest.py."""

import datetime as dt

import pytest

from core.choices import TIME_ZONES
from peer_requests.models import Alert, PeerRequest, RequestStatus
from reporting import selectors
from reporting.selectors import Criteria, Outcomes, percentile_cont
from tests.agencies.factories import AgencyFactory
from tests.locations.factories import LocationFactory
from tests.peers.factories import AvailabilityWindowFactory, PeerFactory
from tests.reporting.conftest import MINUTE, local
from tests.reporting.factories import ReportAlertFactory, ReportRequestFactory, filled_request

UTC = dt.UTC


def nonzero(rows):
    return {row.start: row.outcomes for row in rows if row.outcomes.placed}


def cells(grid, attribute):
    return {(c.weekday, c.hour): getattr(c, attribute) for c in grid.cells if getattr(c, attribute)}


class TestPercentileCont:
    def test_it_interpolates_like_postgresql(self):
        values = [(dt.timedelta(minutes=m), 1) for m in (5, 15, 35)]
        assert percentile_cont(values, 0.5) == dt.timedelta(minutes=15)
        assert percentile_cont(values, 0.9) == dt.timedelta(minutes=31)
        assert percentile_cont(values[:2], 0.5) == dt.timedelta(minutes=10)

    def test_it_counts_repeated_values(self):
        # 5, 5, 5, 15, 35, 35: the median lies between the third and fourth value.
        values = [(dt.timedelta(minutes=5), 3), (dt.timedelta(minutes=15), 1), (dt.timedelta(minutes=35), 2)]
        assert percentile_cont(values, 0.5) == dt.timedelta(minutes=10)
        assert percentile_cont(values, 0.9) == dt.timedelta(minutes=35)
        assert percentile_cont(values, 0) == dt.timedelta(minutes=5)

    def test_it_has_no_answer_without_values(self):
        assert percentile_cont([], 0.5) is None

    def test_it_returns_the_only_value(self):
        assert percentile_cont([(dt.timedelta(seconds=7), 4)], 0.9) == dt.timedelta(seconds=7)

    def test_it_refuses_a_fraction_outside_0_to_1(self):
        with pytest.raises(ValueError, match="between 0 and 1"):
            percentile_cont([(dt.timedelta(seconds=7), 1)], 1.5)


class TestCriteria:
    def test_it_spans_local_midnight_to_local_midnight(self):
        c = Criteria(tz_name="America/New_York", start=dt.date(2026, 3, 8), end=dt.date(2026, 3, 8))
        assert c.start_at == dt.datetime(2026, 3, 8, 5, tzinfo=UTC)
        # 2026-03-08 has 23 hours in New York.
        assert c.end_at == dt.datetime(2026, 3, 9, 4, tzinfo=UTC)

    def test_it_refuses_a_zone_off_the_hour(self):
        with pytest.raises(ValueError, match="whole number of hours"):
            Criteria(tz_name="Asia/Kolkata", start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 2))

    def test_every_organisation_zone_is_on_the_hour(self):
        for name, _label in TIME_ZONES:
            Criteria(tz_name=name, start=dt.date(2026, 1, 1), end=dt.date(2026, 7, 1))


class TestTheLoopClosed:
    @pytest.fixture
    def encounters(self, world):
        """The March requests filled after 5, 15 and 35 minutes get arrivals and finishes."""
        in_march = selectors.requests_in_scope(criteria=world.criteria())
        filled = list(in_march.filter(status=RequestStatus.ASSIGNED).order_by("assigned_at"))
        assert len(filled) == 3
        plans = [  # minutes to arrival after the request, minutes at the bedside, outcome, kit, how
            (20, 30, "engaged", True, "peer"),
            (50, 7, "declined", False, "location"),
            (90, 23, "", None, "peer"),
        ]
        for request, (arrive, stay, outcome, kit, how) in zip(filled, plans, strict=True):
            request.arrived_at = request.created_at + dt.timedelta(minutes=arrive)
            request.finished_at = request.arrived_at + dt.timedelta(minutes=stay, seconds=30)
            request.finished_how, request.encounter_outcome, request.naloxone_kit_given = how, outcome, kit
            request.save()
        return filled

    def test_time_to_the_bedside_and_the_share_within_the_hour(self, world, encounters):
        rows = selectors.time_to_bedside(criteria=world.criteria(), by="need")
        everything = rows[0]
        assert (everything.label, everything.arrived) == ("All", 3)
        assert everything.median == dt.timedelta(minutes=50)
        assert everything.p90 == dt.timedelta(minutes=82)
        assert everything.within_hour == pytest.approx(2 / 3)
        assert sum(row.arrived for row in rows[1:]) == 3

    @pytest.mark.parametrize("by", ["location", "agency", "week"])
    def test_every_grouping_adds_up_to_all(self, world, encounters, by, django_assert_num_queries):
        with django_assert_num_queries(2 if by == "agency" else 1):  # by agency: the names too
            rows = selectors.time_to_bedside(criteria=world.criteria(), by=by)
        assert sum(row.arrived for row in rows[1:]) == rows[0].arrived == 3

    def test_encounters_by_outcome_with_kits_and_length(self, world, encounters):
        rows = {row.label: row for row in selectors.encounters_by_outcome(criteria=world.criteria())}
        assert rows["Engaged with support"].encounters == 1
        assert rows["Engaged with support"].naloxone_kits == 1
        assert rows["Engaged with support"].median_length == dt.timedelta(minutes=30)
        assert rows["Declined support"].naloxone_kits == 0
        assert rows["Outcome not recorded"].encounters == 1

    def test_billing_units_per_agency_peer_and_month(self, world, encounters):
        rows = selectors.billing_units(criteria=world.criteria())
        assert sum(row.encounters for row in rows) == 3
        # 30 min → 2 units, 7 min → 0 units (under 8), 23 min → 2 units (15 + 8).
        assert sum(row.units for row in rows) == 4
        assert sum(row.minutes for row in rows) == 60
        assert {row.month for row in rows} == {dt.date(2026, 3, 1)}

    def test_automatic_closes_are_billed_never_and_shown_apart(self, world, encounters):
        PeerRequest.objects.filter(pk=encounters[0].pk).update(finished_how="automatic")
        assert sum(row.units for row in selectors.billing_units(criteria=world.criteria())) == 2
        rows = {
            row.label: row.encounters for row in selectors.encounters_by_outcome(criteria=world.criteria())
        }
        assert rows["Closed automatically (never said done)"] == 1


class TestFilledByReach:
    def test_it_splits_the_fills_by_the_step_that_reached_the_peer(self, world):
        in_march = selectors.requests_in_scope(criteria=world.criteria())
        assigned = list(
            Alert.objects.filter(is_assigned=True, request__in=in_march)
            .select_related("request")
            .order_by("request__assigned_at")
        )
        assert len(assigned) == 3  # filled after 5, 15 and 35 minutes
        five, fifteen, thirty_five = assigned
        Alert.objects.filter(pk=five.pk).update(wave=Alert.Wave.LATE)
        # Reminded before the YES: the reminder brought the peer.
        Alert.objects.filter(pk=fifteen.pk).update(
            reminded_at=fifteen.responded_at - dt.timedelta(seconds=30)
        )
        Alert.objects.filter(pk=thirty_five.pk).update(wave=Alert.Wave.WIDENED)
        rows = {row.reach: row for row in selectors.filled_by_reach(criteria=world.criteria())}
        assert [row.reach for row in selectors.filled_by_reach(criteria=world.criteria())] == [
            "first",
            "late",
            "reminder",
            "widened",
        ]
        assert {name: row.filled for name, row in rows.items()} == {
            "first": 0,
            "late": 1,
            "reminder": 1,
            "widened": 1,
        }
        assert rows["late"].fill_rate == pytest.approx(0.2)  # of the 5 placed
        assert rows["reminder"].median_time_to_fill == dt.timedelta(minutes=15)
        assert rows["widened"].p90_time_to_fill == dt.timedelta(minutes=35)
        assert rows["first"].median_time_to_fill is None

    def test_a_reminder_after_the_yes_does_not_count(self, world):
        in_march = selectors.requests_in_scope(criteria=world.criteria())
        alert = Alert.objects.filter(is_assigned=True, request__in=in_march).first()
        Alert.objects.filter(pk=alert.pk).update(reminded_at=alert.responded_at + dt.timedelta(minutes=1))
        rows = {row.reach: row.filled for row in selectors.filled_by_reach(criteria=world.criteria())}
        assert rows == {"first": 3, "late": 0, "reminder": 0, "widened": 0}

    def test_an_agency_sees_its_own_fills_only(self, world):
        rows = selectors.filled_by_reach(criteria=world.criteria(agency_id=world.agency_a.id))
        assert sum(row.filled for row in rows) == 2

    def test_it_uses_two_queries(self, world, django_assert_num_queries):
        with django_assert_num_queries(2):
            selectors.filled_by_reach(criteria=world.criteria())


class TestRequestSummary:
    def test_it_counts_outcomes_and_rates(self, world):
        summary = selectors.request_summary(criteria=world.criteria())
        assert summary.outcomes == Outcomes(placed=5, filled=3, expired=1, cancelled=1)
        assert summary.outcomes.fill_rate == pytest.approx(0.6)
        assert summary.outcomes.expiry_rate == pytest.approx(0.2)
        assert summary.outcomes.cancellation_rate == pytest.approx(0.2)
        assert summary.outcomes.other == 0

    def test_it_gives_the_median_and_90th_percentile_time_to_assignment(self, world):
        summary = selectors.request_summary(criteria=world.criteria())
        # Filled after 5, 15 and 35 minutes.
        assert summary.median_time_to_fill == dt.timedelta(minutes=15)
        assert summary.p90_time_to_fill == dt.timedelta(minutes=31)

    def test_it_counts_only_the_agencys_own_fills(self, world):
        summary = selectors.request_summary(criteria=world.criteria(agency_id=world.agency_a.id))
        # Alerted for all five; r2 was filled by agency B's peer, so it is not A's fill.
        assert summary.outcomes == Outcomes(placed=5, filled=2, expired=1, cancelled=1)
        assert summary.outcomes.other == 1
        assert summary.median_time_to_fill == dt.timedelta(minutes=20)
        assert summary.p90_time_to_fill == dt.timedelta(minutes=32)

    def test_it_covers_only_the_requests_an_agency_was_alerted_for(self, world):
        summary = selectors.request_summary(criteria=world.criteria(agency_id=world.agency_b.id))
        assert summary.outcomes == Outcomes(placed=3, filled=1, expired=1, cancelled=0)
        assert summary.median_time_to_fill == dt.timedelta(minutes=15)

    def test_it_covers_only_the_locations_own_requests(self, world):
        summary = selectors.request_summary(criteria=world.criteria(location_id=world.hudson.id))
        assert summary.outcomes == Outcomes(placed=2, filled=2, expired=0, cancelled=0)

    def test_it_filters_by_need(self, world):
        summary = selectors.request_summary(criteria=world.criteria(need="substance_use"))
        assert summary.outcomes == Outcomes(placed=2, filled=1, expired=0, cancelled=1)

    def test_it_answers_an_empty_range(self, world):
        c = world.criteria(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31))
        summary = selectors.request_summary(criteria=c)
        assert summary.outcomes == Outcomes(0, 0, 0, 0)
        assert summary.outcomes.fill_rate is None
        assert summary.median_time_to_fill is None
        assert summary.p90_time_to_fill is None


class TestRequestsPerPeriod:
    def test_it_buckets_days_at_local_midnight(self, world):
        rows = selectors.requests_per_period(criteria=world.criteria())
        assert len(rows) == 31
        assert rows[0].start == dt.date(2026, 3, 1)
        assert nonzero(rows) == {
            dt.date(2026, 3, 7): Outcomes(1, 1, 0, 0),  # r1 at 23:59
            dt.date(2026, 3, 8): Outcomes(3, 1, 1, 1),  # r2 at 00:01, r4 at 01:59 EST, r3 at 03:01 EDT
            dt.date(2026, 3, 31): Outcomes(1, 1, 0, 0),  # r6 at 23:59 EDT (04-01 03:59 UTC)
        }

    def test_it_buckets_weeks_from_monday(self, world):
        rows = selectors.requests_per_period(criteria=world.criteria(), period="week")
        assert [row.start for row in rows] == [
            dt.date(2026, 2, 23),
            dt.date(2026, 3, 2),
            dt.date(2026, 3, 9),
            dt.date(2026, 3, 16),
            dt.date(2026, 3, 23),
            dt.date(2026, 3, 30),
        ]
        assert nonzero(rows) == {
            dt.date(2026, 3, 2): Outcomes(4, 2, 1, 1),
            dt.date(2026, 3, 30): Outcomes(1, 1, 0, 0),
        }

    def test_it_refuses_an_unknown_period(self, world):
        with pytest.raises(ValueError, match="unknown period"):
            selectors.requests_per_period(criteria=world.criteria(), period="month")

    def test_it_keeps_the_25_hour_day_when_clocks_go_back(self, db):
        location = LocationFactory()
        for at in (
            dt.datetime(2026, 11, 1, 4, 30, tzinfo=UTC),  # Nov 1 00:30 EDT
            dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 EDT
            dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC),  # 01:30 EST, the second time
            dt.datetime(2026, 11, 2, 4, 30, tzinfo=UTC),  # Nov 1 23:30 EST
            dt.datetime(2026, 11, 2, 5, 30, tzinfo=UTC),  # Nov 2 00:30 EST
        ):
            ReportRequestFactory(location=location, created_at=at)
        c = Criteria(tz_name="America/New_York", start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 2))
        counts = {row.start: row.outcomes.placed for row in selectors.requests_per_period(criteria=c)}
        assert counts == {dt.date(2026, 11, 1): 4, dt.date(2026, 11, 2): 1}
        grid = selectors.staffing(criteria=c, include_peers=False)
        # Both 01:30s are in Sunday's 01:00 hour.
        assert cells(grid, "placed") == {(6, 0): 1, (6, 1): 2, (6, 23): 1, (0, 0): 1}

    def test_it_buckets_in_the_viewers_zone(self, db):
        chicago = LocationFactory(timezone="America/Chicago")
        ReportRequestFactory(location=chicago, created_at=dt.datetime(2026, 3, 8, 5, 30, tzinfo=UTC))
        in_chicago = Criteria(tz_name="America/Chicago", start=dt.date(2026, 3, 7), end=dt.date(2026, 3, 8))
        in_new_york = Criteria(tz_name="America/New_York", start=dt.date(2026, 3, 7), end=dt.date(2026, 3, 8))
        assert nonzero(selectors.requests_per_period(criteria=in_chicago)) == {
            dt.date(2026, 3, 7): Outcomes(1, 0, 1, 0)  # 23:30 CST
        }
        assert nonzero(selectors.requests_per_period(criteria=in_new_york)) == {
            dt.date(2026, 3, 8): Outcomes(1, 0, 1, 0)  # 00:30 EST
        }


class TestRequestsPerLocation:
    def test_it_counts_each_location_busiest_first(self, world):
        rows = selectors.requests_per_location(criteria=world.criteria())
        assert [(row.name, row.outcomes) for row in rows] == [
            ("Valley Clinic", Outcomes(3, 1, 1, 1)),
            ("Hudson ED", Outcomes(2, 2, 0, 0)),
        ]

    def test_a_location_never_sees_another_locations_requests(self, world):
        rows = selectors.requests_per_location(criteria=world.criteria(location_id=world.hudson.id))
        assert [row.name for row in rows] == ["Hudson ED"]


class TestRequestsByNeed:
    def test_it_counts_every_need(self, world):
        rows = selectors.requests_by_need(criteria=world.criteria())
        assert [(row.need, row.outcomes) for row in rows] == [
            ("mental_health", Outcomes(2, 2, 0, 0)),
            ("substance_use", Outcomes(2, 1, 0, 1)),
            ("co_occurring", Outcomes(1, 0, 1, 0)),
        ]

    def test_it_lists_needs_nobody_asked_for(self, world):
        rows = selectors.requests_by_need(criteria=world.criteria(location_id=world.hudson.id))
        assert [(row.need, row.outcomes.placed) for row in rows] == [
            ("mental_health", 1),
            ("substance_use", 1),
            ("co_occurring", 0),
        ]


class TestCharacteristics:
    def test_it_counts_what_was_requested_and_met(self, world):
        rows = selectors.characteristics(criteria=world.criteria())
        assert {(r.characteristic, r.value): (r.requested, r.filled, r.met) for r in rows} == {
            ("Age range", "18–35"): (2, 2, 1),  # r1 met by a1; r6 went to a2 (36+)
            ("Age range", "36+"): (0, 0, 0),
            ("Gender", "Female"): (1, 1, 1),
            ("Gender", "Male"): (1, 1, 0),  # r2 went to b1, a woman
            ("Gender", "Non-binary"): (0, 0, 0),
            ("Language", "Spanish"): (2, 2, 1),  # a1 speaks Spanish, a2 does not
        }
        assert [r.met_rate for r in rows if r.characteristic == "Language"] == [0.5]

    def test_an_agency_sees_matches_of_its_own_peers_only(self, world):
        rows = selectors.characteristics(criteria=world.criteria(agency_id=world.agency_b.id))
        found = {(r.characteristic, r.value): (r.requested, r.filled, r.met) for r in rows}
        # B was alerted for r1, r2 and r3 and filled only r2.
        assert found[("Age range", "18–35")] == (1, 0, 0)
        assert found[("Gender", "Female")] == (1, 0, 0)
        assert found[("Gender", "Male")] == (1, 1, 0)
        assert found[("Language", "Spanish")] == (1, 0, 0)

    def test_a_location_sees_its_own_requests_only(self, world):
        rows = selectors.characteristics(criteria=world.criteria(location_id=world.valley.id))
        found = {(r.characteristic, r.value): (r.requested, r.filled, r.met) for r in rows}
        assert found[("Age range", "18–35")] == (1, 1, 0)  # r6 only
        assert found[("Gender", "Female")] == (0, 0, 0)
        assert found[("Language", "Spanish")] == (1, 1, 0)


class TestPeerResponse:
    def test_it_counts_alerts_and_replies_per_agency(self, world, figures_from):
        figures_from()
        rows = selectors.peer_response(criteria=world.criteria())
        assert [(r.agency, r.sent, r.delivered, r.yes, r.no, r.no_reply) for r in rows] == [
            ("Alpha Peers", 7, 6, 2, 2, 3),
            ("Beta Peers", 3, 2, 1, 1, 1),
        ]
        alpha, beta = rows
        assert alpha.response_rate == pytest.approx(4 / 7)
        # The lower median, rounded up to a reply step: 1, [2], 2, 3 min and [1], 4 min.
        assert alpha.median_time_to_reply == dt.timedelta(minutes=2)
        assert beta.median_time_to_reply == dt.timedelta(minutes=1)

    def test_an_agency_never_sees_another_agencys_peers_or_replies(self, world, figures_from):
        figures_from()
        rows = selectors.peer_response(criteria=world.criteria(agency_id=world.agency_b.id))
        assert [(r.agency, r.sent, r.delivered, r.yes, r.no, r.no_reply) for r in rows] == [
            ("Beta Peers", 3, 2, 1, 1, 1)
        ]

    def test_it_counts_a_location_filter_on_the_request(self, world, figures_from):
        figures_from()
        rows = selectors.peer_response(criteria=world.criteria(location_id=world.valley.id))
        # r3, r4, r6: a1 silent, b1 NO, a2 silent, a2 YES.
        assert [(r.agency, r.sent, r.yes, r.no, r.no_reply) for r in rows] == [
            ("Alpha Peers", 3, 1, 0, 2),
            ("Beta Peers", 1, 0, 1, 0),
        ]


class TestDeclineReasons:
    def test_it_counts_reasons_per_agency(self, world, figures_from):
        figures_from()
        report = selectors.decline_reasons(criteria=world.criteria())
        assert [(row.agency, {k: v for k, v in row.counts.items() if v}) for row in report.rows] == [
            ("Alpha Peers", {"in_transit": 1, "with_another_person": 1}),
            ("Beta Peers", {"": 1}),
        ]
        assert report.totals["in_transit"] == 1
        assert sum(report.totals.values()) == 3

    def test_an_agency_sees_only_its_own_peers_reasons(self, world, figures_from):
        figures_from()
        report = selectors.decline_reasons(criteria=world.criteria(agency_id=world.agency_b.id))
        assert [row.agency for row in report.rows] == ["Beta Peers"]
        assert report.rows[0].total == 1

    def test_it_files_an_unknown_reason_under_other(self, world, figures_from):
        Alert.objects.filter(request=world.r3, peer=world.b1).update(decline_reason="legacy value")
        figures_from()
        report = selectors.decline_reasons(criteria=world.criteria(agency_id=world.agency_b.id))
        assert report.rows[0].counts["other"] == 1


class TestStaffing:
    def test_it_counts_requests_per_local_weekday_and_hour(self, world):
        grid = selectors.staffing(criteria=world.criteria())
        assert len(grid.cells) == 168
        # Saturday 23:59, Sunday 00:01, 01:59 EST and 03:01 EDT (no 02:00 that night), Tuesday 23:59.
        assert cells(grid, "placed") == {(5, 23): 1, (6, 0): 1, (6, 1): 1, (6, 3): 1, (1, 23): 1}
        assert cells(grid, "filled") == {(5, 23): 1, (6, 0): 1, (1, 23): 1}
        assert grid.cells[6 * 24 + 1].fill_rate == 0
        assert grid.cells[0].fill_rate is None

    def test_it_counts_peers_whose_weekly_hours_cover_the_hour(self, world):
        peers = cells(selectors.staffing(criteria=world.criteria()), "peers")
        assert peers[(0, 9)] == 1 and peers[(0, 16)] == 1 and (0, 17) not in peers  # a1, 09–17
        assert peers[(5, 22)] == 1 and peers[(5, 23)] == 1  # a2 from Saturday 22:00 ...
        assert peers[(6, 0)] == 2 and peers[(6, 1)] == 2  # ... to Sunday 02:00, beside b1
        assert peers[(6, 2)] == 1 and peers[(6, 22)] == 1  # b1 all Sunday
        assert peers[(6, 23)] == 2  # b1 and a1 from 23:30 ...
        assert peers[(0, 0)] == 1  # ... past the end of the week into Monday 00:30
        assert sum(peers.values()) == 8 + 2 + 4 + 24  # a1, a1, a2, b1; the inactive peer never counts

    def test_an_agency_sees_only_its_own_peers_and_fills(self, world):
        grid = selectors.staffing(criteria=world.criteria(agency_id=world.agency_a.id))
        peers = cells(grid, "peers")
        assert peers[(6, 0)] == 1 and peers[(6, 23)] == 1 and (6, 5) not in peers
        assert cells(grid, "filled") == {(5, 23): 1, (1, 23): 1}

    def test_a_location_filter_counts_peers_of_the_agencies_serving_it(self, world):
        # Valley is in Ulster county, served by agency A only.
        peers = cells(selectors.staffing(criteria=world.criteria(location_id=world.valley.id)), "peers")
        assert (6, 5) not in peers  # b1's Sunday
        assert peers[(0, 9)] == 1

    def test_it_shifts_weekly_hours_kept_in_another_zone(self, db):
        chicago = AgencyFactory(timezone="America/Chicago")
        peer = PeerFactory(agency=chicago)
        AvailabilityWindowFactory(peer=peer, weekday=0, start=dt.time(9), end=dt.time(10))
        AvailabilityWindowFactory(peer=peer, weekday=6, start=dt.time(23), end=dt.time(0))
        march = {"start": dt.date(2026, 3, 1), "end": dt.date(2026, 3, 31)}
        own = Criteria(tz_name="America/Chicago", agency_id=chicago.id, **march)
        assert cells(selectors.staffing(criteria=own), "peers") == {(0, 9): 1, (6, 23): 1}
        from_new_york = Criteria(tz_name="America/New_York", **march)
        # An hour later in New York; Sunday 23:00 Chicago is Monday 00:00 in New York.
        assert cells(selectors.staffing(criteria=from_new_york), "peers") == {(0, 10): 1, (0, 0): 1}

    def test_it_leaves_peers_out_when_asked(self, world):
        grid = selectors.staffing(criteria=world.criteria(), include_peers=False)
        assert not grid.includes_peers
        assert cells(grid, "peers") == {}


class TestQueryCounts:
    """Each selector runs a fixed number of queries, however much data there is."""

    @pytest.mark.parametrize(
        ("selector", "queries"),
        [
            (selectors.request_summary, 2),
            (selectors.requests_per_period, 1),
            (selectors.requests_per_location, 1),
            (selectors.requests_by_need, 1),
            (selectors.characteristics, 2),
            (selectors.peer_response, 4),
            (selectors.decline_reasons, 3),
            (selectors.staffing, 2),
        ],
    )
    def test_it_is_constant(self, world, django_assert_num_queries, selector, queries, figures_from):
        figures_from()
        with django_assert_num_queries(queries):
            selector(criteria=world.criteria())
        for day in range(1, 20):
            created = local(2026, 3, day, 12)
            request = filled_request(
                peer=world.b1, location=world.valley, created_at=created, after=3 * MINUTE
            )
            ReportAlertFactory(request=request, peer=world.a1, response="no", responded_at=created + MINUTE)
            ReportRequestFactory(location=world.hudson, created_at=created, status=RequestStatus.CANCELLED)
        figures_from()
        with django_assert_num_queries(queries):
            selector(criteria=world.criteria())
        with django_assert_num_queries(queries):
            selector(criteria=world.criteria(agency_id=world.agency_a.id, need="mental_health"))
