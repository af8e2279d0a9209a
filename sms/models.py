from django.db import models


class OutboundStatus(models.TextChoices):
    # Ordered: delivery status only ever moves forward (see STATUS_RANK).
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    FAILED = "failed", "Failed"


STATUS_RANK = {
    OutboundStatus.QUEUED: 0,
    OutboundStatus.SENDING: 1,
    OutboundStatus.SENT: 2,
    OutboundStatus.DELIVERED: 3,
    OutboundStatus.UNDELIVERED: 3,
    OutboundStatus.FAILED: 4,
}


class OutboundMessage(models.Model):
    """A text Peer-RX sends. The row is saved before any attempt to send it."""

    class Kind(models.TextChoices):
        # To peers
        ALERT = "alert", "Alert"
        REMINDER = "reminder", "Reminder"
        CONFIRMATION = "confirmation", "Assignment confirmation"
        FILLED = "filled", "Filled, thank you"
        CANCELLED = "cancelled", "Cancelled by the location, thank you"
        REPLY = "reply", "Reply to a text"
        OPT_IN_REQUEST = "opt_in_request", "Opt-in request"
        ACK_REMINDER = "ack_reminder", "Reminder to say on my way"
        OUTCOME_MENU = "outcome_menu", "Encounter outcome menu"
        # To the location's notification phone
        LOCATION_ASSIGNED = "location_assigned", "Location: peer assigned"
        LOCATION_REOPENED = "location_reopened", "Location: request reopened"
        LOCATION_EXPIRED = "location_expired", "Location: no peer found"
        LOCATION_NOBODY = "location_nobody", "Location: nobody available"
        LOCATION_ON_THE_WAY = "location_on_way", "Location: peer on the way"
        LOCATION_ACK_MISSING = "location_no_ack", "Location: no word from the peer"
        LOCATION_LATE = "location_late", "Location: peer late"

    to = models.CharField(max_length=32, db_index=True)
    body = models.TextField()
    kind = models.CharField(max_length=32, choices=Kind.choices)
    peer = models.ForeignKey(
        "peers.Peer", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    location = models.ForeignKey(
        "locations.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    alert = models.ForeignKey(
        "peer_requests.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    request = models.ForeignKey(
        "peer_requests.PeerRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    status = models.CharField(max_length=16, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED)
    provider_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Calls made to the SMS provider.")
    next_attempt_at = models.DateTimeField(help_text="When the next (or first) send is due.")
    claim_token = models.CharField(
        max_length=32, blank=True, editable=False, help_text="Which send call claimed the message last."
    )
    rate_slot_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A send slot reserved under PEERRX_SMS_MAX_PER_SECOND, kept while waiting for it.",
    )
    valid_until = models.DateTimeField(
        null=True, blank=True, help_text="Not worth delivering after this (e.g. the request closed)."
    )
    error_code = models.CharField(max_length=16, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    first_error_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the provider first failed to answer or take this message (not rate limits).",
    )
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    status_updated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Last status change; for a message in 'sending', when it was claimed.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            # The admin's newest-first list, and reports counting recent alert texts.
            models.Index(fields=["created_at"], name="outbound_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to} ({self.status})"


class InboundMessage(models.Model):
    """A text received from the provider's webhook, stored once per MessageSid."""

    message_sid = models.CharField(max_length=64, unique=True)
    from_number = models.CharField(max_length=32, db_index=True)
    to_number = models.CharField(max_length=32, blank=True, help_text="Our number the text was sent to.")
    body = models.TextField(blank=True)
    peer = models.ForeignKey(
        "peers.Peer", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_messages"
    )
    received_at = models.DateTimeField()
    handled_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The few texts not yet handled, among years of handled ones: the sweeper's retry
            # and the inbound lag in /metrics read only these.
            models.Index(
                fields=["received_at"], condition=models.Q(handled_at__isnull=True), name="inbound_unhandled"
            ),
        ]

    def __str__(self) -> str:
        return f"From {self.from_number}: {self.body[:40]}"
