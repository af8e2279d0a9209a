"""What each role's report page shows: which reports, as tables and charts.

One place decides the reports of a role, so the page and its CSV downloads can never
disagree about what a role may see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.safestring import SafeString

from reporting import charts, selectors, tables
from reporting.selectors import WEEKDAYS, Criteria
from reporting.tables import Table


@dataclass(frozen=True)
class View:
    """Who is looking: decides wording, and whether peers' weekly hours are shown."""

    agency_view: bool = False
    include_peers: bool = True  # peers' weekly hours, and agencies by name (not for a location)
    period: str = "day"


@dataclass(frozen=True)
class Chart:
    title: str  # shown as the figure's caption; the SVG repeats it for screen readers
    svg: SafeString


@dataclass
class Section:
    table: Table
    charts: list[Chart] = field(default_factory=list)
    collapsed: bool = False  # long tables sit behind a "show the table" toggle


STAFF_REPORTS = [
    "summary",
    "reach",
    "bedside",
    "encounters",
    "billing",
    "requests",
    "locations",
    "needs",
    "characteristics",
    "responses",
    "declines",
    "staffing",
]
AGENCY_REPORTS = STAFF_REPORTS
LOCATION_REPORTS = [
    "summary",
    "reach",
    "bedside",
    "encounters",
    "requests",
    "needs",
    "characteristics",
    "staffing",
]


def _summary(c: Criteria, v: View) -> Section:
    return Section(tables.summary_table(selectors.request_summary(criteria=c), agency_view=v.agency_view))


def _reach(c: Criteria, v: View) -> Section:
    return Section(tables.reach_table(selectors.filled_by_reach(criteria=c), agency_view=v.agency_view))


def _bedside(c: Criteria, v: View) -> Section:
    # A location sees its own requests by need and week; agencies' names are not its business.
    dimensions = [
        by for by in selectors.BEDSIDE_GROUPS if v.include_peers or by not in ("agency", "location")
    ]
    groups = {by: selectors.time_to_bedside(criteria=c, by=by) for by in dimensions}
    return Section(tables.bedside_table(groups))


def _encounters(c: Criteria, v: View) -> Section:
    return Section(tables.encounters_table(selectors.encounters_by_outcome(criteria=c)))


def _billing(c: Criteria, v: View) -> Section:
    return Section(tables.billing_table(selectors.billing_units(criteria=c)), collapsed=True)


def _requests(c: Criteria, v: View) -> Section:
    rows = selectors.requests_per_period(criteria=c, period=v.period)
    fmt = "%b %-d"
    labels = [row.start.strftime(fmt) for row in rows]
    filled = [row.outcomes.filled for row in rows]
    unfilled = [row.outcomes.placed - row.outcomes.filled for row in rows]
    total = sum(row.outcomes.placed for row in rows)
    busiest = max(rows, key=lambda row: row.outcomes.placed, default=None)
    description = f"{total:,} requests placed from {c.start:%b %-d, %Y} to {c.end:%b %-d, %Y}."
    if busiest is not None and busiest.outcomes.placed:
        when = "week starting " if v.period == "week" else ""
        description += (
            f" The busiest {v.period} was {when}{busiest.start:%A %b %-d} with {busiest.outcomes.placed:,}"
            f" requests, {busiest.outcomes.filled:,} of them filled."
        )
    title = f"Requests placed per {v.period}"
    chart = charts.bar_chart(
        chart_id="chart-requests",
        title=title,
        description=description,
        labels=labels,
        series=[
            charts.Series("Filled", filled, charts.PRIMARY),
            charts.Series("Not filled", unfilled, charts.MUTED),
        ],
    )
    return Section(tables.period_table(rows, period=v.period), [Chart(title, chart)], collapsed=True)


def _locations(c: Criteria, v: View) -> Section:
    return Section(tables.location_table(selectors.requests_per_location(criteria=c)))


def _needs(c: Criteria, v: View) -> Section:
    return Section(tables.need_table(selectors.requests_by_need(criteria=c)))


def _characteristics(c: Criteria, v: View) -> Section:
    return Section(tables.characteristics_table(selectors.characteristics(criteria=c)))


def _responses(c: Criteria, v: View) -> Section:
    return Section(tables.response_table(selectors.peer_response(criteria=c)))


def _declines(c: Criteria, v: View) -> Section:
    return Section(tables.decline_table(selectors.decline_reasons(criteria=c)))


def _cell_title(cell: selectors.StaffingCell, include_peers: bool) -> str:
    text = (
        f"{WEEKDAYS[cell.weekday]} {cell.hour:02d}:00–{(cell.hour + 1) % 24:02d}:00: {cell.placed:,} requests"
    )
    text += f", {cell.filled:,} filled"
    if include_peers:
        text += f", {cell.peers:,} peers available"
    if cell.fill_rate is not None:
        text += f", fill rate {cell.fill_rate * 100:.0f} %"
    return text


def _at(cell: selectors.StaffingCell) -> str:
    return f"{WEEKDAYS[cell.weekday]} {cell.hour:02d}:00"


def _staffing(c: Criteria, v: View) -> Section:
    grid = selectors.staffing(criteria=c, include_peers=v.include_peers)
    rows = grid.rows()
    titles = [[_cell_title(cell, v.include_peers) for cell in row] for row in rows]

    def heat(chart_id: str, title: str, values: list[list], **kwargs) -> Chart:
        svg = charts.heat_map(
            chart_id=chart_id,
            title=title,
            row_labels=WEEKDAYS,
            column_labels=[f"{hour:02d}" for hour in range(24)],
            values=values,
            cell_titles=titles,
            **kwargs,
        )
        return Chart(title, svg)

    busiest = max(grid.cells, key=lambda cell: cell.placed)
    drawn = [
        heat(
            "chart-demand",
            "Requests placed by weekday and hour",
            [[cell.placed for cell in row] for row in rows],
            description=(
                f"Busiest hour: {_at(busiest)} with {busiest.placed:,} requests."
                if busiest.placed
                else "No requests in this range."
            ),
        )
    ]
    if v.include_peers:
        most = max(grid.cells, key=lambda cell: cell.peers)
        least = min(grid.cells, key=lambda cell: cell.peers)
        drawn.append(
            heat(
                "chart-peers",
                "Peers available by weekday and hour (weekly hours)",
                [[cell.peers for cell in row] for row in rows],
                description=(
                    f"Most peers: {_at(most)} with {most.peers:,}; fewest: {_at(least)} with {least.peers:,}."
                ),
            )
        )
    rated = [cell for cell in grid.cells if cell.fill_rate is not None]
    worst = min(rated, key=lambda cell: (cell.fill_rate, -cell.placed), default=None)
    drawn.append(
        heat(
            "chart-fill",
            "Fill rate by weekday and hour",
            [[cell.fill_rate for cell in row] for row in rows],
            description=(
                f"Lowest fill rate: {_at(worst)}, {worst.fill_rate * 100:.0f} % of {worst.placed:,} requests."
                if worst
                else "No requests in this range."
            ),
            maximum=1,
            value_format="rate",
            legend="Fill rate in %; grey = no requests",
        )
    )
    return Section(tables.staffing_table(grid), drawn, collapsed=True)


BUILDERS: dict[str, Callable[[Criteria, View], Section]] = {
    "summary": _summary,
    "reach": _reach,
    "bedside": _bedside,
    "encounters": _encounters,
    "billing": _billing,
    "requests": _requests,
    "locations": _locations,
    "needs": _needs,
    "characteristics": _characteristics,
    "responses": _responses,
    "declines": _declines,
    "staffing": _staffing,
}


def build(name: str, *, criteria: Criteria, view: View) -> Section:
    return BUILDERS[name](criteria, view)
