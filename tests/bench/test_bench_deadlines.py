import math

from bench.bench_deadlines import Stats, TaskRun, attribute, request_id_of


class TestStats:
    def test_stats(self):
        assert Stats.of([0.2, 0.1, 0.3]) == Stats(n=3, p50=0.2, p99=0.3, max=0.3)

    def test_p99_is_the_nearest_rank(self):
        assert Stats.of(range(1, 101)).p99 == 99

    def test_no_values(self):
        stats = Stats.of([])
        assert stats.n == 0 and math.isnan(stats.p99) and math.isnan(stats.max)


class TestAttribution:
    task = TaskRun(name="peer_requests.tasks.complete_selection", args="[7]", started=100.0, finished=100.05)
    sweep = TaskRun(name="peer_requests.tasks.sweep", args="[]", started=103.0, finished=103.2)

    def test_a_now_read_while_the_countdown_task_ran_is_the_task(self):
        assert attribute(100.001, deadline_runs=[self.task], sweeps=[self.sweep]) == "task"

    def test_a_now_read_while_a_sweep_ran_is_the_sweeper(self):
        assert attribute(103.0, deadline_runs=[self.task], sweeps=[self.sweep]) == "sweeper"

    def test_neither(self):
        assert attribute(50.0, deadline_runs=[self.task], sweeps=[self.sweep]) == "unknown"

    def test_a_run_without_its_end_covers_nothing(self):
        assert not TaskRun(name="x", started=1.0).covers(1.0)


def test_request_id_of_the_events_args_repr():
    assert request_id_of("[42]") == 42
    assert request_id_of("(42,)") == 42
    assert request_id_of("[]") is None
