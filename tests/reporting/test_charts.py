import re

from reporting import charts


def bars(svg: str) -> list[str]:
    return re.findall(r"<g><title>([^<]*)</title>", svg)


class TestBarChart:
    def make(self, **kwargs):
        defaults = {
            "chart_id": "c",
            "title": "Requests per day",
            "description": "3 requests.",
            "labels": ["Mar 7", "Mar 8"],
            "series": [
                charts.Series("Filled", [1, 1], charts.PRIMARY),
                charts.Series("Not filled", [0, 2], charts.MUTED),
            ],
        }
        return str(charts.bar_chart(**{**defaults, **kwargs}))

    def test_it_says_what_it_shows(self):
        svg = self.make()
        assert svg.startswith("<svg") and svg.endswith("</svg>")
        assert 'role="img"' in svg and 'aria-labelledby="c-title c-desc"' in svg
        assert '<title id="c-title">Requests per day</title>' in svg
        assert '<desc id="c-desc">3 requests.</desc>' in svg

    def test_it_draws_one_stacked_bar_per_label_with_its_figures(self):
        svg = self.make()
        assert bars(svg) == ["Mar 7: Filled 1, Not filled 0", "Mar 8: Filled 1, Not filled 2"]
        # Three visible segments (an empty one is not drawn) and two invisible hover targets.
        assert svg.count(f'fill="{charts.PRIMARY}"') == 2 + 1  # two bars and the legend
        assert svg.count('fill="transparent"') == 2

    def test_it_scales_to_a_round_maximum(self):
        svg = self.make()
        # The tallest bar is 3: the axis goes to 3, with a line at half way.
        assert ">3</text>" in svg and ">1.5</text>" in svg and ">0</text>" in svg
        assert charts._nice_ceiling(0) == 1
        assert charts._nice_ceiling(2.2) == 2.5
        assert charts._nice_ceiling(120) == 150
        assert charts._nice_ceiling(2732) == 3000

    def test_it_escapes_text(self):
        svg = self.make(title="<script>", labels=["<b>", "x"])
        assert "<script>" not in svg and "&lt;script&gt;" in svg
        assert "<b>" not in svg

    def test_it_thins_out_labels_on_long_ranges(self):
        labels = [f"d{i}" for i in range(365)]
        svg = self.make(labels=labels, series=[charts.Series("Filled", [1] * 365, charts.PRIMARY)])
        assert len(bars(svg)) == 365
        assert len(re.findall(r'text-anchor="middle" fill="#495057">d\d+<', svg)) <= 13


class TestHeatMap:
    def make(self, values, **kwargs):
        return str(
            charts.heat_map(
                chart_id="h",
                title="Requests",
                description="Busiest: Monday 09:00.",
                row_labels=["Monday", "Tuesday"],
                column_labels=["00", "01", "02"],
                values=values,
                cell_titles=[[f"cell {i}{j}" for j in range(3)] for i in range(2)],
                **kwargs,
            )
        )

    def test_it_draws_a_cell_with_a_title_for_every_value(self):
        svg = self.make([[0, 1, 2], [4, None, 0]])
        assert bars(svg) == [f"cell {i}{j}" for i in range(2) for j in range(3)]
        assert '<desc id="h-desc">Busiest: Monday 09:00.</desc>' in svg

    def test_it_shades_by_value_and_leaves_empty_cells_grey(self):
        svg = self.make([[0, 1, 2], [4, None, 0]])
        opacities = [float(x) for x in re.findall(r'fill-opacity="([0-9.]+)"', svg)]
        assert opacities == [0.06, 0.29, 0.53, 1.0, 0.06]
        assert svg.count(f'fill="{charts.EMPTY}"') == 1

    def test_it_writes_large_counts_compactly(self):
        svg = self.make([[980, 1470, 12345], [0, 0, 0]])
        assert ">980</text>" in svg and ">1.5k</text>" in svg and ">12k</text>" in svg

    def test_it_writes_rates_as_percentages(self):
        svg = self.make([[0.5, 1, None], [0.25, 0, None]], maximum=1, value_format="rate", legend="Fill rate")
        assert ">50</text>" in svg and ">100</text>" in svg and ">25</text>" in svg
        assert "Fill rate (0 %–100 %)." in svg
