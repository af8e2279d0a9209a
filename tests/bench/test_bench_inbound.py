import base64
import json
import math
from collections import Counter

from bench.bench_inbound import (
    TARGET_P99_MS,
    Checks,
    Drain,
    Floor,
    _verdict_p99,
    _verdict_ratio,
    sent_sids,
    task_argument,
)


class TestSentSids:
    def test_each_thread_sent_the_first_lines_of_its_share(self):
        sids = ["a", "b", "c", "d", "e"]
        assert sent_sids(sids, [2, 1]) == ({"a", "c", "b"}, False)

    def test_one_thread_sends_in_order(self):
        assert sent_sids(["a", "b", "c"], [2]) == ({"a", "b"}, False)

    def test_a_thread_past_its_last_line_started_over(self):
        sent, wrapped = sent_sids(["a", "b", "c"], [5, 0])
        assert (sent, wrapped) == ({"a", "c"}, True)

    def test_nothing_sent(self):
        assert sent_sids(["a"], [0]) == (set(), False)


class TestVerdicts:
    def test_the_ratio_is_met_at_sixty_percent(self):
        assert _verdict_ratio(0.60) == "met"

    def test_a_missed_ratio_says_by_how_many_points(self):
        assert _verdict_ratio(0.45) == "**missed by 15 points**"

    def test_the_p99_must_be_under_the_target(self):
        assert _verdict_p99(99.9) == "met"
        assert _verdict_p99(TARGET_P99_MS) == "**missed by 0 ms (1.0×)**"
        assert _verdict_p99(250.0) == "**missed by 150 ms (2.5×)**"


def kombu_message(task: str, args: list) -> bytes:
    """A message as kombu's Redis transport keeps it in the queue's list (body: base64 JSON)."""
    body = base64.b64encode(json.dumps([args, {}, {"callbacks": None}]).encode()).decode()
    return json.dumps({"body": body, "headers": {"task": task, "id": "x"}, "properties": {}}).encode()


class TestTaskArgument:
    def test_it_reads_the_first_argument_of_the_named_task(self):
        assert (
            task_argument(kombu_message("sms.tasks.handle_inbound", [42]), "sms.tasks.handle_inbound") == 42
        )

    def test_another_task_is_not_counted(self):
        assert (
            task_argument(kombu_message("sms.tasks.send_message", [42]), "sms.tasks.handle_inbound") is None
        )


class TestDrain:
    def test_from_the_launch_to_the_first_and_last_text(self):
        drain = Drain.of(100.0, [112.0, 103.0, 105.0], worker_cpu=0.6)
        assert (drain.texts, drain.startup, drain.seconds, drain.worker_cpu) == (3, 3.0, 12.0, 0.6)

    def test_the_rate_counts_intervals_between_the_first_and_the_last(self):
        assert Drain.of(0.0, [2.0 + i / 100 for i in range(101)]).rate == 100.0

    def test_nothing_handled(self):
        drain = Drain.of(0.0, [])
        assert drain.texts == 0 and math.isnan(drain.seconds) and math.isnan(drain.rate)


def test_an_empty_webhook_adds_its_insert_and_publish_to_the_trivial_view():
    assert Floor(insert_ms=0.3, publish_ms=0.7).ratio(0.6) == 0.375  # 0.6 / (0.6 + 0.3 + 0.7)


def checks(**changes) -> Checks:
    fine = {
        "sent": 10,
        "stored": 10,
        "duplicates": 0,
        "missing": 0,
        "unexpected": 0,
        "tasks": 10,
        "tasks_for_rows": 10,
        "unhandled": 0,
        "outcomes": Counter({"yes_recorded": 6, "no_recorded": 4}),
        "alerts_answered": 10,
        "recorded": 10,
        "recorded_alerts": 10,
        "answered": 10,
        "replies": 10,
        "unpaired": 0,
    }
    return Checks(**(fine | changes))


class TestChecks:
    def test_all_fine(self):
        assert checks().ok

    def test_a_missing_row_is_not_exactly_once(self):
        assert not checks(stored=9, missing=1).exactly_once

    def test_a_task_short_or_twice_is_not_one_per_row(self):
        assert not checks(tasks=9, tasks_for_rows=9).one_task_per_row
        assert not checks(tasks=11).one_task_per_row

    def test_an_unhandled_text_fails(self):
        assert not checks(unhandled=1).answered_once

    def test_an_alert_answered_by_two_texts_fails(self):
        assert not checks(recorded_alerts=9).answered_once
        assert not checks(alerts_answered=9).answered_once

    def test_answers_must_pair_up_with_the_texts(self):
        assert not checks(replies=11).answered_once
        assert not checks(unpaired=2).answered_once
        assert not checks(unpaired=2).ok
