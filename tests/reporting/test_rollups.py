"""The hourly per-agency rollup: what it holds, when it is refreshed, and that reports read
the same figures from it as from the alerts (tests/reporting/conftest.py's month)."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from peer_requests.models import Alert
from peerrx.celery import _beat_schedule
from reporting import rollups, selectors
from reporting.models import REPLY_STEPS, AgencyHour, RollupState, replied_within_field
from reporting.tasks import refresh_rollups
from sms.models import OutboundMessage, OutboundStatus
from tests.reporting.conftest import local

UTC = dt.UTC
AFTER_MARCH = dt.datetime(2026, 5, 1, tzinfo=UTC)


def response_figures(world, **criteria):
    return [
        (r.agency, r.sent, r.delivered, r.yes, r.no, r.no_reply, r.median_time_to_reply)
        for r in selectors.peer_response(criteria=world.criteria(**criteria))
    ]


def decline_figures(world, **criteria):
    report = selectors.decline_reasons(criteria=world.criteria(**criteria))
    return [(r.agency, r.counts) for r in report.rows]


def rolled_through() -> dt.datetime | None:
    return RollupState.objects.get(pk=1).rolled_through


class TestRows:
    def test_it_counts_each_agency_per_utc_hour(self, world):
        rollups.catch_up(now=AFTER_MARCH)
        # r1 (Saturday 23:59 EST = 04:59 UTC): a1 YES (delivered), a2 NO in transit (delivered),
        # b1 silent (undelivered).
        hour = dt.datetime(2026, 3, 8, 4, tzinfo=UTC)
        alpha = AgencyHour.objects.get(hour=hour, agency=world.agency_a)
        assert (alpha.sent, alpha.delivered, alpha.yes, alpha.no, alpha.no_reply) == (2, 2, 1, 1, 0)
        assert (alpha.replied, alpha.declined_in_transit, alpha.declined_unspecified) == (2, 1, 0)
        # Replies at 1 and 3 minutes: one within 1 min, both within 3.
        assert getattr(alpha, replied_within_field(dt.timedelta(minutes=1))) == 1
        assert getattr(alpha, replied_within_field(dt.timedelta(minutes=2))) == 1
        assert getattr(alpha, replied_within_field(dt.timedelta(minutes=3))) == 2
        beta = AgencyHour.objects.get(hour=hour, agency=world.agency_b)
        assert (beta.sent, beta.delivered, beta.no_reply, beta.replied) == (1, 0, 1, 0)

    def test_it_rolls_up_from_the_first_alert_to_the_settled_hours(self, world):
        result = rollups.catch_up(now=AFTER_MARCH)
        first = Alert.objects.order_by("created_at").first().created_at
        assert AgencyHour.objects.order_by("hour").first().hour == rollups.floor_hour(first)
        assert rolled_through() == rollups.settled_before(AFTER_MARCH)
        assert result >= AgencyHour.objects.count() > 0  # the re-rolled day is written twice

    def test_a_second_refresh_changes_nothing(self, world):
        rollups.catch_up(now=AFTER_MARCH)
        before = list(AgencyHour.objects.order_by("hour", "agency_id").values())
        rollups.refresh(now=AFTER_MARCH)
        after = list(AgencyHour.objects.order_by("hour", "agency_id").values())
        assert [{**r, "id": 0} for r in after] == [{**r, "id": 0} for r in before]

    def test_a_small_step_reaches_the_same_rows(self, world):
        result = rollups.refresh(now=AFTER_MARCH, max_hours=24 * 7)
        assert not result.caught_up
        while not rollups.refresh(now=AFTER_MARCH, max_hours=24 * 7).caught_up:
            pass
        stepped = list(
            AgencyHour.objects.order_by("hour", "agency_id").values_list("hour", "agency_id", "sent")
        )
        rollups.rebuild(now=AFTER_MARCH)
        assert list(
            AgencyHour.objects.order_by("hour", "agency_id").values_list("hour", "agency_id", "sent")
        ) == (stepped)

    def test_a_large_catch_up_refreshes_the_tables_statistics(self, world, monkeypatch, require_postgres):
        monkeypatch.setattr(rollups, "ANALYZE_AFTER_ROWS", 0)
        with CaptureQueriesContext(connection) as queries:
            rollups.catch_up(now=AFTER_MARCH)
        assert [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")] == [
            "ANALYZE reporting_agencyhour"
        ]

    def test_an_empty_database_rolls_up_nothing(self, db):
        result = rollups.refresh(now=AFTER_MARCH)
        assert result.rows == 0 and result.caught_up
        assert rolled_through() == rollups.settled_before(AFTER_MARCH)


class TestSettling:
    def test_an_hour_waits_until_no_reply_or_decline_reason_can_change_it(self, world, settings):
        settings.PEERRX_EXPIRY_SECONDS = 1800
        # Expiry 30 min + the 2 h decline menu + 1 h margin: 3 h 30 min, rounded down to the hour.
        now = dt.datetime(2026, 3, 8, 10, 10, tzinfo=UTC)
        assert rollups.settled_before(now) == dt.datetime(2026, 3, 8, 6, tzinfo=UTC)
        rollups.catch_up(now=now)
        assert not AgencyHour.objects.filter(hour__gte=dt.datetime(2026, 3, 8, 6, tzinfo=UTC)).exists()
        # r4 (06:59 UTC) and r3 (07:01 UTC) are read from the alerts until their hours settle.
        assert response_figures(world) == [
            ("Alpha Peers", 7, 6, 2, 2, 3, dt.timedelta(minutes=2)),
            ("Beta Peers", 3, 2, 1, 1, 1, dt.timedelta(minutes=1)),
        ]

    def test_a_late_delivery_receipt_is_counted_by_the_next_refresh(self, world):
        rollups.catch_up(now=local(2026, 4, 1, 12))
        undelivered = OutboundMessage.objects.get(
            alert__request=world.r1, alert__peer=world.b1, kind=OutboundMessage.Kind.ALERT
        )
        # r1 is weeks old; a late receipt for it lands within the re-rolled day only if its hour
        # is that recent, so move it there.
        OutboundMessage.objects.filter(pk=undelivered.pk).update(
            status=OutboundStatus.DELIVERED, created_at=local(2026, 3, 31, 23, 59)
        )
        Alert.objects.filter(pk=undelivered.alert_id).update(created_at=local(2026, 3, 31, 23, 59))
        assert response_figures(world)[1][2] == 2  # the rolled-up hour does not know yet
        rollups.refresh(now=local(2026, 4, 1, 12, 5))
        assert response_figures(world)[1][2] == 3

    def test_each_refresh_rolls_up_the_new_hours_and_redoes_the_last_day(self, world):
        rollups.catch_up(now=local(2026, 3, 20))
        first = rolled_through()
        result = rollups.refresh(now=local(2026, 3, 21))
        assert result.start == first - rollups.REROLL
        assert result.end == rolled_through() == first + dt.timedelta(days=1)


class TestReportsReadTheRollup:
    @pytest.mark.parametrize(
        "criteria",
        [{}, {"agency_id": "a"}, {"agency_id": "b"}],
        ids=["staff", "agency A", "agency B"],
    )
    @pytest.mark.parametrize(
        "now",
        [local(2026, 3, 8, 9), local(2026, 3, 20), local(2026, 4, 1, 2), AFTER_MARCH],
        ids=["before r3", "mid-month", "before r6 settles", "after the month"],
    )
    def test_it_agrees_with_the_alerts_wherever_the_split_falls(self, world, criteria, now):
        agencies = {"a": world.agency_a.id, "b": world.agency_b.id}
        criteria = {k: agencies[v] for k, v in criteria.items()}
        counted = response_figures(world, **criteria), decline_figures(world, **criteria)
        rollups.catch_up(now=now)
        assert (response_figures(world, **criteria), decline_figures(world, **criteria)) == counted

    def test_it_answers_from_the_rows_up_to_the_split(self, world):
        rollups.catch_up(now=AFTER_MARCH)
        # Rows stand for their hours: changing an alert behind them shows only after a refresh.
        Alert.objects.filter(request=world.r3, peer=world.a1).update(response=Alert.Response.YES)
        assert response_figures(world)[0][3] == 2
        rollups.rebuild(now=AFTER_MARCH)
        assert response_figures(world)[0][3] == 3

    def test_a_location_or_need_filter_reads_the_alerts(self, world):
        rollups.catch_up(now=AFTER_MARCH)
        Alert.objects.filter(request=world.r3, peer=world.a1).update(response=Alert.Response.YES)
        # r3 is Valley Clinic's co-occurring request: both filters see the change at once.
        assert response_figures(world, location_id=world.valley.id)[0][3] == 2
        assert response_figures(world, need="co_occurring")[0][3] == 1


class TestMedianStep:
    def figures(self, *seconds):
        return {
            "replied": len(seconds),
            **{replied_within_field(s): sum(x <= s.total_seconds() for x in seconds) for s in REPLY_STEPS},
        }

    @pytest.mark.parametrize(
        ("seconds", "expected"),
        [
            ((), None),
            ((10,), dt.timedelta(seconds=30)),
            ((31,), dt.timedelta(minutes=1)),
            ((60, 120, 120, 180), dt.timedelta(minutes=2)),  # the lower median
            ((60, 240), dt.timedelta(minutes=1)),
            ((500, 500, 20), dt.timedelta(minutes=10)),
            ((90_000,), None),  # later than the last step
        ],
    )
    def test_it_rounds_the_lower_median_up_to_a_step(self, seconds, expected):
        assert selectors.median_reply_step(self.figures(*seconds)) == expected


class TestRunning:
    def test_beat_refreshes_the_rollups(self):
        entry = _beat_schedule()["refresh-report-rollups"]
        assert entry["task"] == "reporting.tasks.refresh_rollups"
        assert entry["schedule"] == 300

    def test_the_task_rolls_up_one_step_towards_now(self, world):
        refresh_rollups()
        first = rollups.floor_hour(Alert.objects.order_by("created_at").first().created_at)
        assert rolled_through() == first + dt.timedelta(hours=rollups.MAX_HOURS_PER_REFRESH)
        assert AgencyHour.objects.filter(agency=world.agency_a).exists()

    def test_the_command_catches_up_and_rebuilds(self, world, capsys):
        call_command("refresh_report_rollups")
        assert "Report rollups up to date:" in capsys.readouterr().out
        assert rolled_through() > dt.datetime.now(UTC) - dt.timedelta(hours=5)
        rows = AgencyHour.objects.count()
        AgencyHour.objects.update(sent=0)
        call_command("refresh_report_rollups", "--rebuild")
        assert not AgencyHour.objects.filter(sent=0).exists()
        assert AgencyHour.objects.count() == rows
