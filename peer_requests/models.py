from django.conf import settings
from django.db import models

from core.choices import AgeRange, Gender, Need


class RequestStatus(models.TextChoices):
    COLLECTING = "collecting", "Collecting replies"
    OPEN = "open", "Open: first YES wins"
    ASSIGNED = "assigned", "Peer assigned"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (RequestStatus.COLLECTING, RequestStatus.OPEN)


class EncounterOutcome(models.TextChoices):
    """How an encounter ended, as the peer texts it after DONE (codes only: nothing about the person)."""

    ENGAGED = "engaged", "Engaged with support"
    DECLINED = "declined", "Declined support"
    REFERRED = "referred", "Referred to treatment"
    LEFT = "left", "Patient left or unavailable"


class PeerRequest(models.Model):
    """A location asking for a peer. It holds no detail about the person being helped."""

    class FinishedHow(models.TextChoices):
        PEER = "peer", "The peer texted DONE"
        LOCATION = "location", "The location marked it finished"
        AUTOMATIC = "automatic", "Closed automatically"

    class FollowUpOutcome(models.TextChoices):
        RESUBMITTED = "resubmitted", "Request resubmitted"
        PEER_FOUND_BY_PHONE = "found_by_phone", "Peer found by phone"
        NO_LONGER_NEEDED = "no_longer_needed", "No longer needed"
        UNREACHABLE = "unreachable", "Location unreachable"
        OTHER = "other", "Other"

    location = models.ForeignKey("locations.Location", on_delete=models.PROTECT, related_name="requests")
    code = models.CharField(max_length=4, help_text="Short code peers quote in SMS replies.")
    need = models.CharField(max_length=16, choices=Need.choices)
    age_range = models.CharField(max_length=8, choices=AgeRange.choices, blank=True)
    gender = models.CharField(max_length=16, choices=Gender.choices, blank=True)
    languages = models.ManyToManyField("peers.Language", blank=True, related_name="+")
    callback_contact = models.CharField(
        max_length=120, help_text="Who the peer should ask for at the location: a staff name or extension."
    )
    status = models.CharField(
        max_length=16, choices=RequestStatus.choices, default=RequestStatus.COLLECTING, db_index=True
    )
    created_at = models.DateTimeField(db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    selection_due_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    assigned_peer = models.ForeignKey(
        "peers.Peer", null=True, blank=True, on_delete=models.PROTECT, related_name="assignments"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    assignment_reason = models.CharField(max_length=300, blank=True)
    # When it ended unfilled: expired or cancelled (an assignment has assigned_at).
    closed_at = models.DateTimeField(null=True, blank=True)
    # When the assigned peer's assignment ended (withdrawal ends it by reassigning): until then
    # the peer is busy and gets no other alert. PEERRX_ASSIGNMENT_HOURS after assignment at most.
    assignment_ended_at = models.DateTimeField(null=True, blank=True)
    # The encounter, after assignment: on the way (with an ETA), arrived, finished, and its outcome.
    on_way_at = models.DateTimeField(null=True, blank=True)
    eta_at = models.DateTimeField(null=True, blank=True, help_text="When the peer said they would arrive.")
    arrived_at = models.DateTimeField(null=True, blank=True)
    arrived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Location staff who marked the arrival; empty when the peer texted HERE.",
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    finished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_how = models.CharField(max_length=16, choices=FinishedHow.choices, blank=True)
    encounter_outcome = models.CharField(max_length=16, choices=EncounterOutcome.choices, blank=True)
    naloxone_kit_given = models.BooleanField(null=True, blank=True)
    outcome_recorded_at = models.DateTimeField(null=True, blank=True)
    outcome_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The supervisor who set or corrected it; empty when the peer texted it.",
    )
    # The acknowledgement and arrival watch: when the peer was reminded to send OMW, when the
    # location and supervisors were told nobody acknowledged, and when they were told of a late arrival.
    ack_reminded_at = models.DateTimeField(null=True, blank=True)
    ack_escalated_at = models.DateTimeField(null=True, blank=True)
    late_told_at = models.DateTimeField(null=True, blank=True)
    # When the backup agencies' peers were alerted (the second wave), if they were.
    widened_at = models.DateTimeField(null=True, blank=True)
    # When nobody at all could be alerted, even after widening: Peer-RX staff follow up at once.
    urgent_since = models.DateTimeField(null=True, blank=True)
    resubmitted_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resubmission"
    )
    followed_up_at = models.DateTimeField(null=True, blank=True)
    followed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    follow_up_outcome = models.CharField(max_length=32, choices=FollowUpOutcome.choices, blank=True)
    follow_up_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "selection_due_at"]),
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["location", "created_at"]),
            models.Index(fields=["code", "created_at"], name="request_code_created"),
        ]
        constraints = [
            # A code names one live request, so "YES 4821" is never ambiguous.
            models.UniqueConstraint(
                fields=["code"],
                condition=models.Q(status__in=["collecting", "open"]),
                name="request_code_unique_while_active",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="assigned") | models.Q(assigned_peer__isnull=False),
                name="assigned_request_has_peer",
            ),
            # A peer is at one patient's side at a time: one live assignment per peer.
            models.UniqueConstraint(
                fields=["assigned_peer"],
                condition=models.Q(status="assigned", assignment_ended_at__isnull=True),
                name="one_live_assignment_per_peer",
            ),
        ]

    def __str__(self) -> str:
        return f"Request {self.code} ({self.location})"

    @property
    def stage(self) -> str:
        """Where an assigned request's encounter is: assigned, on_the_way, arrived or finished."""
        if self.finished_at is not None:
            return "finished"
        if self.arrived_at is not None:
            return "arrived"
        if self.on_way_at is not None:
            return "on_the_way"
        return "assigned"


class Alert(models.Model):
    """One peer's alert for one request, and what the peer did with it."""

    class Response(models.TextChoices):
        NONE = "", "No reply"
        YES = "yes", "Yes"
        NO = "no", "No"

    class Wave(models.TextChoices):
        FIRST = "first", "At submit"
        LATE = "late", "Became available later"
        WIDENED = "widened", "Backup agency (widened)"

    class DeclineReason(models.TextChoices):
        WITH_ANOTHER_PERSON = "with_another_person", "With another person"
        IN_TRANSIT = "in_transit", "In transit"
        OFF_SHIFT = "off_shift", "Off shift"
        PERSONAL = "personal", "Personal"
        OTHER = "other", "Other"

    request = models.ForeignKey(PeerRequest, on_delete=models.CASCADE, related_name="alerts")
    peer = models.ForeignKey("peers.Peer", on_delete=models.PROTECT, related_name="alerts")
    created_at = models.DateTimeField()
    wave = models.CharField(max_length=8, choices=Wave.choices, default=Wave.FIRST)
    # The static match before anyone replied (no reply speed): alerts leave best first.
    prescore = models.FloatField(null=True, blank=True)
    prescore_breakdown = models.JSONField(default=dict, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    response = models.CharField(max_length=3, choices=Response.choices, blank=True, default="")
    responded_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=32, choices=DeclineReason.choices, blank=True)
    is_assigned = models.BooleanField(default=False)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    rank = models.PositiveIntegerField(null=True, blank=True)
    score_breakdown = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["request", "id"]
        indexes = [
            models.Index(fields=["peer", "response"]),
            # Reports read the alerts of the hours not rolled up yet by when they were sent.
            models.Index(fields=["created_at"], name="alert_created_at"),
            # An agency's reports: the requests its peers were alerted for, by an index-only
            # scan of its peers' alerts instead of a scan of every alert.
            models.Index(fields=["peer", "request"], name="alert_peer_request"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["request", "peer"], name="one_alert_per_peer_per_request"),
            # The database itself refuses a second assigned peer for a request.
            models.UniqueConstraint(
                fields=["request"],
                condition=models.Q(is_assigned=True),
                name="one_assigned_alert_per_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request.code} → {self.peer}"


class RequestEvent(models.Model):
    """The request's timeline: one row per transition and per notable reply."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        ALERTS_SENT = "alerts_sent", "Alerts sent"
        REPLY_YES = "reply_yes", "Peer replied YES"
        REPLY_NO = "reply_no", "Peer replied NO"
        OPENED = "opened", "No YES at the choice: open to the first YES"
        ASSIGNED = "assigned", "Peer assigned"
        WITHDRAWN = "withdrawn", "Assigned peer withdrew"
        REOPENED = "reopened", "Reopened: first YES wins until expiry"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"
        RESUBMITTED = "resubmitted", "Resubmitted"
        FOLLOWED_UP = "followed_up", "Followed up"
        SMS_FAILED = "sms_failed", "Text failed"
        LATE_ALERTS = "late_alerts", "Alerted peers who became available"
        REMINDED = "reminded", "Reminded the peers who had not replied"
        WIDENED = "widened", "Widened to backup agencies"
        NOBODY_AVAILABLE = "nobody", "Nobody available"
        ON_THE_WAY = "on_the_way", "Peer on the way"
        ARRIVED = "arrived", "Peer arrived"
        FINISHED = "finished", "Encounter finished"
        OUTCOME = "outcome", "Encounter outcome recorded"
        ACK_REMINDED = "ack_reminded", "Peer reminded to say they are on the way"
        ACK_MISSING = "ack_missing", "No word from the peer: location and agency told"
        LATE_ARRIVAL = "late_arrival", "Peer late: location and agency told"
        NOT_COME = "not_come", "Location: the peer has not come"

    request = models.ForeignKey(PeerRequest, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    peer = models.ForeignKey("peers.Peer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.get_kind_display()}"


# The heartbeat the sweeper writes and /healthz reads.
SWEEPER_HEARTBEAT = "sweeper"


class Heartbeat(models.Model):
    """The last time a periodic job ran; /healthz reports the sweeper's stale after a minute."""

    name = models.CharField(max_length=64, primary_key=True)
    beat_at = models.DateTimeField()

    class Meta:
        # Created by the matching app's first migration; the table kept its name when the
        # sweeper moved here.
        db_table = "matching_heartbeat"

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
