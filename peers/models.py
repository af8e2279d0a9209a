import datetime as dt
import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from core.choices import AgeRange, Gender


def credential_document_path(instance: "Credential", filename: str) -> str:
    """A random name: the uploaded file name may carry the peer's name, and paths must not be guessable."""
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"credentials/{uuid.uuid4().hex}{suffix}"


class Language(models.Model):
    code = models.CharField(max_length=8, unique=True, help_text="ISO 639-1 code, e.g. es.")
    name = models.CharField(max_length=64)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Peer(models.Model):
    """A certified peer support specialist. Peers use SMS only and never sign in."""

    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="peers")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    phone = PhoneNumberField("mobile number", unique=True)
    age_range = models.CharField(max_length=8, choices=AgeRange.choices)
    gender = models.CharField(max_length=16, choices=Gender.choices)
    languages = models.ManyToManyField(Language, related_name="peers", blank=True)
    is_active = models.BooleanField("active", default=True, db_index=True)
    opted_out_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the peer texts STOP; cleared by START."
    )
    phone_flagged_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the SMS provider says the number cannot receive texts."
    )
    consented_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the peer texted JOIN (or START): no alert before. Cleared when the number changes.",
    )
    consent_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="When the opt-in text was last sent to the number."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class ConsentRecord(models.Model):
    """Every opt-in and opt-out of a peer, with how and the exact text: the TCPA record. Append-only."""

    class Action(models.TextChoices):
        REQUESTED = "requested", "Opt-in text sent"
        OPT_IN = "opt_in", "Opted in"
        OPT_OUT = "opt_out", "Opted out"

    class Source(models.TextChoices):
        ROSTER = "roster", "Peer added or number changed on the roster"
        KEYWORD = "keyword", "Keyword texted (JOIN, START, STOP …)"
        NATURAL_LANGUAGE = "natural", 'Said in plain words (e.g. "stop texting me")'
        CARRIER = "carrier", "Carrier opt-out (Twilio error 21610)"
        STAFF = "staff", "Recorded by Peer-RX staff"
        MIGRATION = "migration", "On the roster before consent was recorded"

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="consent_records")
    at = models.DateTimeField()
    action = models.CharField(max_length=16, choices=Action.choices)
    source = models.CharField(max_length=16, choices=Source.choices)
    text = models.TextField(blank=True, help_text="The exact text sent or received.")
    phone = models.CharField(max_length=32, help_text="The number it concerned, as it was then.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["peer", "at"])]

    def __str__(self) -> str:
        return f"{self.peer}: {self.get_action_display()} ({self.get_source_display()})"


class CredentialType(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    issuing_body = models.CharField(max_length=200)
    state = models.CharField(max_length=2, blank=True)
    qualifies_mental_health = models.BooleanField(default=False)
    qualifies_substance_use = models.BooleanField(default=False)
    is_provisional = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Credential(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting validation"
        VALIDATED = "validated", "Validated"
        REJECTED = "rejected", "Rejected"

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="credentials")
    type = models.ForeignKey(CredentialType, on_delete=models.PROTECT, related_name="credentials")
    number = models.CharField("certificate number", max_length=64)
    issued_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True, help_text="Leave empty if it does not expire.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    validated_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=300, blank=True)
    document = models.FileField(
        upload_to=credential_document_path,
        blank=True,
        help_text="Optional copy of the certificate; only the agency and Peer-RX staff can download it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["peer", "type__code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__isnull=True) | models.Q(expires_on__gt=models.F("issued_on")),
                name="credential_expires_after_issue",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type.code} {self.number} ({self.peer})"


class AvailabilityWindow(models.Model):
    """Weekly hours in the agency's time zone.

    An end at or before the start runs past midnight into the next day, so 22:00–06:00
    is a night shift and 00:00–00:00 is the whole day.
    """

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="windows")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField(help_text="At or before the start means the window ends the next day.")

    class Meta:
        ordering = ["peer", "weekday", "start"]
        indexes = [models.Index(fields=["weekday", "start", "end"])]
        constraints = [
            # Equal times are empty, except midnight to midnight: the whole day.
            models.CheckConstraint(
                condition=~models.Q(start=models.F("end")) | models.Q(start=dt.time(0, 0)),
                name="availability_window_not_empty",
            ),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="availability_window_weekday"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


class AvailabilityOverride(models.Model):
    """Available or not between two instants, on top of the weekly hours; the newest wins."""

    class Source(models.TextChoices):
        SMS = "sms", "Peer, by SMS"
        SUPERVISOR = "supervisor", "Supervisor"

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="overrides")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    is_available = models.BooleanField()
    reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["peer", "starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="override_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        state = "available" if self.is_available else "unavailable"
        return f"{self.peer}: {state} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M}"
