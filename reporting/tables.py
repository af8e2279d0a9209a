"""Reports as tables: one definition serves the page and the CSV download.

Cells hold raw values (counts, fractions, timedeltas); the page formats them for people
(``83.3 %``, ``7 min 30 s``) and the CSV keeps them machine-friendly (0.8333, 450).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from reporting import selectors
from reporting.models import REPLY_STEPS
from reporting.selectors import WEEKDAYS, Outcomes

TEXT, COUNT, RATE, DURATION = "text", "count", "rate", "duration"
MIXED = "mixed"  # each cell is a (value, kind) pair


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = COUNT

    @property
    def numeric(self) -> bool:
        return self.kind != TEXT


@dataclass
class Table:
    name: str  # the ``report=`` of its CSV download
    title: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    note: str = ""
    csv_url: str = ""

    def display_rows(self) -> list[list[tuple[str, bool]]]:
        return [
            [
                (format_cell(value, column.kind), column.numeric)
                for value, column in zip(row, self.columns, strict=True)
            ]
            for row in self.rows
        ]

    def labelled_rows(self) -> list[list[tuple[str, bool, str]]]:
        """``display_rows`` with each cell's column label, for tables stacked on a phone."""
        return [
            [
                (value, numeric, column.label)
                for (value, numeric), column in zip(row, self.columns, strict=True)
            ]
            for row in self.display_rows()
        ]

    def csv_rows(self) -> list[list]:
        return [
            [csv_cell(value, column.kind) for value, column in zip(row, self.columns, strict=True)]
            for row in self.rows
        ]


def format_duration(value: dt.timedelta | None) -> str:
    if value is None:
        return "–"
    seconds = round(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{seconds} s"


def format_cell(value, kind: str) -> str:
    if kind == MIXED:
        return format_cell(*value)
    if value is None:
        return "–"
    if kind == RATE:
        return f"{value * 100:.1f} %"
    if kind == DURATION:
        return format_duration(value)
    if kind == COUNT:
        return f"{value:,}"
    return str(value)


def csv_cell(value, kind: str):
    if kind == MIXED:
        return csv_cell(*value)
    if value is None:
        return ""
    if kind == RATE:
        return round(value, 4)
    if kind == DURATION:
        return round(value.total_seconds(), 1)
    return value


OUTCOME_COLUMNS = [
    Column("Placed"),
    Column("Filled"),
    Column("Expired"),
    Column("Cancelled"),
    Column("Fill rate", RATE),
    Column("Expiry rate", RATE),
    Column("Cancellation rate", RATE),
]


def _outcome_cells(o: Outcomes) -> list:
    return [o.placed, o.filled, o.expired, o.cancelled, o.fill_rate, o.expiry_rate, o.cancellation_rate]


def summary_table(summary: selectors.RequestSummary, *, agency_view: bool) -> Table:
    o = summary.outcomes
    filled = "Filled by your peers" if agency_view else "Filled"
    other = "Active, or filled by another agency" if agency_view else "Still active"
    rows = [
        ["Requests placed", o.placed, COUNT],
        [filled, o.filled, COUNT],
        ["Expired", o.expired, COUNT],
        ["Cancelled", o.cancelled, COUNT],
        [other, o.other, COUNT],
        ["Fill rate", o.fill_rate, RATE],
        ["Expiry rate", o.expiry_rate, RATE],
        ["Cancellation rate", o.cancellation_rate, RATE],
        ["Median time to assignment", summary.median_time_to_fill, DURATION],
        ["90th percentile time to assignment", summary.p90_time_to_fill, DURATION],
    ]
    return Table(
        "summary",
        "Summary",
        [Column("Figure", TEXT), Column("Value", MIXED)],
        [[label, (value, kind)] for label, value, kind in rows],
    )


def reach_table(rows: list[selectors.ReachRow], *, agency_view: bool) -> Table:
    return Table(
        "reach",
        "Filled, by how the peer was reached",
        [
            Column("How the peer was reached", TEXT),
            Column("Filled by your peers" if agency_view else "Filled", COUNT),
            Column("Share of requests placed", RATE),
            Column("Median time to assignment", DURATION),
            Column("90th percentile", DURATION),
        ],
        [
            [row.label, row.filled, row.fill_rate, row.median_time_to_fill, row.p90_time_to_fill]
            for row in rows
        ],
        note="Each request counts once, under the step that brought the peer who was assigned: "
        "alerted at submit, alerted when they became available later, saying YES only after the "
        "one reminder, or a backup agency's peer alerted when the net was widened.",
    )


BEDSIDE_DIMENSIONS = {"location": "Location", "agency": "Agency", "need": "Need", "week": "Week"}


def bedside_table(rows_by: dict[str, list[selectors.BedsideRow]]) -> Table:
    rows = []
    for by, found in rows_by.items():
        for row in found[1:] if rows else found:
            group = "All requests" if row.label == "All" else f"{BEDSIDE_DIMENSIONS[by]}: {row.label}"
            rows.append([group, row.arrived, row.median, row.p90, row.within_hour])
    return Table(
        "bedside",
        "Time to the patient's side",
        [
            Column("Requests", TEXT),
            Column("Peer arrived", COUNT),
            Column("Median, request to arrival", DURATION),
            Column("90th percentile", DURATION),
            Column("Within 60 minutes", RATE),
        ],
        rows,
        note="From the request to the peer at the bedside (the peer texted HERE, or the location "
        'pressed "Peer arrived"), in whole minutes; filled requests whose arrival was recorded.',
    )


def encounters_table(rows: list[selectors.EncounterRow]) -> Table:
    return Table(
        "encounters",
        "Encounters by outcome",
        [
            Column("Outcome", TEXT),
            Column("Encounters", COUNT),
            Column("Naloxone kits given", COUNT),
            Column("Median length", DURATION),
        ],
        [[row.label, row.encounters, row.naloxone_kits, row.median_length] for row in rows],
        note="Arrival to finish. Outcomes are the codes the peer texted after DONE (or a supervisor "
        "set); nothing about the person is recorded.",
    )


def billing_table(rows: list[selectors.BillingRow]) -> Table:
    return Table(
        "billing",
        "Encounters for billing, per agency, peer and month",
        [
            Column("Agency", TEXT),
            Column("Peer", TEXT),
            Column("Month", TEXT),
            Column("Encounters", COUNT),
            Column("Minutes at the bedside", COUNT),
            Column("15-minute units", COUNT),
        ],
        [[r.agency, r.peer, r.month.strftime("%Y-%m"), r.encounters, r.minutes, r.units] for r in rows],
        note="Units per encounter: one per 15 minutes from arrival to finish, a unit from 8 minutes "
        "on (H0038). Encounters closed automatically are left out.",
    )


def period_table(rows: list[selectors.PeriodRow], *, period: str) -> Table:
    first = "Week starting" if period == "week" else "Day"
    return Table(
        "requests",
        f"Requests per {period}",
        [Column(first, TEXT), *OUTCOME_COLUMNS],
        [[row.start.isoformat(), *_outcome_cells(row.outcomes)] for row in rows],
    )


def location_table(rows: list[selectors.LocationRow]) -> Table:
    return Table(
        "locations",
        "Requests per location",
        [Column("Location", TEXT), *OUTCOME_COLUMNS],
        [[row.name, *_outcome_cells(row.outcomes)] for row in rows],
    )


def need_table(rows: list[selectors.NeedRow]) -> Table:
    return Table(
        "needs",
        "Requests by need",
        [Column("Need", TEXT), *OUTCOME_COLUMNS],
        [[row.label, *_outcome_cells(row.outcomes)] for row in rows],
    )


def characteristics_table(rows: list[selectors.CharacteristicRow]) -> Table:
    return Table(
        "characteristics",
        "Characteristics requested",
        [
            Column("Characteristic", TEXT),
            Column("Requested", TEXT),
            Column("Requests"),
            Column("Filled"),
            Column("Peer matched"),
            Column("Matched rate", RATE),
        ],
        [[r.characteristic, r.value, r.requested, r.filled, r.met, r.met_rate] for r in rows],
        note="Peer matched: the assigned peer has the requested age range or gender, or speaks the "
        "requested language. Matched rate: of the filled requests asking for it.",
    )


def response_table(rows: list[selectors.ResponseRow]) -> Table:
    return Table(
        "responses",
        "Peer response per agency",
        [
            Column("Agency", TEXT),
            Column("Alerts sent"),
            Column("Delivered"),
            Column("YES"),
            Column("NO"),
            Column("No reply"),
            Column("Response rate", RATE),
            Column("Median time to reply", DURATION),
        ],
        [
            [r.agency, r.sent, r.delivered, r.yes, r.no, r.no_reply, r.response_rate, r.median_time_to_reply]
            for r in rows
        ],
        note="Delivered: the carrier confirmed delivery of the alert text. Response rate: YES or NO replies "
        "over alerts sent. Median time to reply: rounded up to the next of "
        + ", ".join(format_duration(step) for step in REPLY_STEPS)
        + ".",
    )


def decline_table(report: selectors.DeclineReport) -> Table:
    totals = report.totals
    return Table(
        "declines",
        "Competing priorities (reasons given with NO)",
        [Column("Agency", TEXT), *(Column(label) for _value, label in report.reasons), Column("Total")],
        [
            [row.agency, *(row.counts[value] for value, _label in report.reasons), row.total]
            for row in report.rows
        ]
        + (
            [["All agencies", *(totals[value] for value, _label in report.reasons), sum(totals.values())]]
            if len(report.rows) > 1
            else []
        ),
    )


def staffing_table(grid: selectors.StaffingGrid) -> Table:
    columns = [Column("Weekday", TEXT), Column("Hour", TEXT), Column("Requests placed"), Column("Filled")]
    if grid.includes_peers:
        columns.append(Column("Peers available"))
    columns.append(Column("Fill rate", RATE))
    rows = []
    for cell in grid.cells:
        row = [WEEKDAYS[cell.weekday], f"{cell.hour:02d}:00", cell.placed, cell.filled]
        if grid.includes_peers:
            row.append(cell.peers)
        row.append(cell.fill_rate)
        rows.append(row)
    return Table(
        "staffing",
        "Staffing against need, by weekday and hour",
        columns,
        rows,
        note="Requests over the whole range; peers available: active peers whose weekly hours cover part "
        "of the hour in a typical week.",
    )
