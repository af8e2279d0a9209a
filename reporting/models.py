"""Hourly rollups of alert figures, so the peer response reports read thousands of rows, not millions.

One ``AgencyHour`` row holds what one agency's peers did with the alerts sent in one UTC hour:
sent, delivered, YES, NO, no reply, each decline reason, and how many replies came within each
of ``REPLY_STEPS``. Every zone an organisation can choose is a whole number of hours from UTC,
so any local day range is a whole set of UTC hours. ``RollupState`` says up to which hour the
rows are complete; reports read the rows before it and the alerts after it
(``reporting.rollups``).
"""

from __future__ import annotations

import datetime as dt

from django.db import models

from peer_requests.models import Alert

# Reply-time steps of the median: the median reply time is reported rounded up to one of these.
REPLY_STEPS = tuple(
    dt.timedelta(seconds=s)
    for s in (30, 60, 90, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 3600, 7200, 86400)
)


def replied_within_field(step: dt.timedelta) -> str:
    return f"replied_within_{int(step.total_seconds())}s"


def declined_field(reason: str) -> str:
    """The column counting NO replies with ``reason`` ("" is no reason given)."""
    return f"declined_{reason or 'unspecified'}"


DECLINE_REASONS = (*Alert.DeclineReason.values, "")


class RollupState(models.Model):
    """A single row: every ``AgencyHour`` before ``rolled_through`` is complete."""

    rolled_through = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Rolled up through {self.rolled_through}"


class AgencyHour(models.Model):
    hour = models.DateTimeField(help_text="Start of the UTC hour the alerts were sent in.")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.CASCADE, related_name="+")
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    yes = models.PositiveIntegerField(default=0)
    no = models.PositiveIntegerField(default=0)
    no_reply = models.PositiveIntegerField(default=0)
    replied = models.PositiveIntegerField(default=0, help_text="YES or NO replies with a reply time.")
    # declined_<reason> and replied_within_<seconds>s columns are added below, one per reason and step.

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "agency"], name="one_rollup_per_agency_hour")]

    def __str__(self) -> str:
        return f"{self.agency_id} at {self.hour:%Y-%m-%d %H:00}"


for _reason in DECLINE_REASONS:
    AgencyHour.add_to_class(declined_field(_reason), models.PositiveIntegerField(default=0))
for _step in REPLY_STEPS:
    AgencyHour.add_to_class(replied_within_field(_step), models.PositiveIntegerField(default=0))

# What each report adds up: peer response (5) and competing priorities (6).
RESPONSE_FIELDS = (
    "sent",
    "delivered",
    "yes",
    "no",
    "no_reply",
    "replied",
    *(replied_within_field(step) for step in REPLY_STEPS),
)
DECLINE_FIELDS = ("no", *(declined_field(reason) for reason in DECLINE_REASONS))
