from bench.bench_fanout import FanOut, _limited_rows, _peak_per_second, _unlimited_rows


def fan_out(*, elapsed: float = 3.0, span: float = 9.99, peers: int = 1000) -> FanOut:
    return FanOut(
        peers=peers,
        submit_seconds=0.3,
        first_start=0.4,
        elapsed=elapsed,
        span=span,
        max_in_flight=50,
        peak_per_second=101,
    )


class TestPeakPerSecond:
    def test_it_counts_the_busiest_one_second_window(self):
        starts = [0.0, 0.1, 0.2, 1.05, 1.1, 1.15, 1.2, 3.0]
        assert _peak_per_second(starts) == 4  # 0.2 to 1.2 is a full second; 1.05 to 1.2 holds 4

    def test_a_call_exactly_one_second_later_starts_a_new_window(self):
        assert _peak_per_second([0.0, 1.0, 2.0]) == 1

    def test_evenly_spread_calls_just_under_the_limit_stay_under_it(self):
        assert _peak_per_second([i * 0.0101 for i in range(1000)]) == 100


class TestRows:
    def test_the_rate_counts_intervals_between_calls(self):
        assert fan_out(span=9.99).rate == 100.0

    def test_a_miss_says_by_how_much(self):
        rows = _unlimited_rows([fan_out(elapsed=6.0), fan_out(elapsed=5.5)], 1000, 50)
        assert "**missed by 0.50 s (10%)**" in rows[0]
        assert "20 rounds of 50" in "".join(rows)

    def test_a_rate_outside_ten_percent_is_missed(self):
        rows, met = _limited_rows([fan_out(span=999 / 85)], 100.0, 1000)
        assert not met
        assert "**missed: 5.0% outside ±10 %**" in rows[0]

    def test_a_rate_within_ten_percent_is_met(self):
        rows, met = _limited_rows([fan_out(span=999 / 108)], 100.0, 1000)
        assert met
        assert "| met |" in rows[0]
