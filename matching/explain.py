"""Explaining a choice: a stored score breakdown as rows, and one peer's rows beside the winner's.

Pure functions on the plain mapping ``matching.scoring`` produced at the choice (the request
workflow stores it on ``Alert.score_breakdown``), so it is shown as it was even if weights
change later. The agency supervisors' "Decisions" pages build on these in ``reporting``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from matching.scoring import COMPONENTS, LABELS


@dataclass(frozen=True)
class BreakdownRow:
    component: str
    label: str
    points: float
    max: float | None = None
    note: str = ""


def breakdown_details(breakdown: Mapping | None) -> list[BreakdownRow]:
    """The stored breakdown's rows in component order; an empty breakdown gives no rows."""
    if not breakdown:
        return []
    stored = {row.get("component"): row for row in breakdown.get("rows") or [] if isinstance(row, Mapping)}
    rows = []
    for name in COMPONENTS:
        row = stored.get(name)
        if row is not None:
            rows.append(
                BreakdownRow(
                    component=name,
                    label=row.get("label") or LABELS[name],
                    points=float(row.get("points") or 0),
                    max=row.get("max"),
                    note=row.get("note") or "",
                )
            )
        elif isinstance(breakdown.get(name), int | float):
            # A breakdown without rows: points only.
            rows.append(BreakdownRow(component=name, label=LABELS[name], points=float(breakdown[name])))
    return rows


@dataclass(frozen=True)
class ComparisonRow:
    label: str
    points: float
    winner_points: float | None
    note: str = ""

    @property
    def difference(self) -> float | None:
        """The chosen peer's points minus this peer's on this component: negative where this peer led."""
        if self.winner_points is None:
            return None
        return round(self.winner_points - self.points, 2)

    @property
    def gap(self) -> float:
        """Points the chosen peer had over this peer on this component (0 if none)."""
        if self.winner_points is None:
            return 0.0
        return round(max(self.winner_points - self.points, 0.0), 2)


def compare_breakdowns(own: Mapping | None, winner: Mapping | None) -> list[ComparisonRow]:
    """This peer's rows beside the chosen peer's points (the winner's notes stay hidden)."""
    winner_points = {row.component: row.points for row in breakdown_details(winner)}
    return [
        ComparisonRow(
            label=row.label,
            points=row.points,
            winner_points=winner_points.get(row.component) if winner else None,
            note=row.note,
        )
        for row in breakdown_details(own)
    ]
