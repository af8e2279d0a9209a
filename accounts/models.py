from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import timezone

from accounts.validators import validate_username
from core.choices import OrganisationStatus


class User(AbstractUser):
    """A person who signs in: Peer-RX staff, location staff or an agency supervisor.

    The role is not stored: it follows from ``is_staff`` and the organisation the user
    is a member of (see ``accounts.roles``). Peers never sign in; they use SMS only.
    """

    # ASCII only, so "stаff" with a Cyrillic "а" cannot pass for "staff".
    username = models.CharField(
        "username",
        max_length=150,
        unique=True,
        help_text="150 characters or fewer: letters (A-Z), digits and . - _ @ only.",
        validators=[validate_username],
        error_messages={"unique": "A user with that username already exists."},
    )
    email = models.EmailField("email address", blank=True)
    phone = models.CharField(max_length=32, blank=True, help_text="Work phone or extension.")

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class AuditEntryQuerySet(models.QuerySet):
    """The trail is append-only for the application: no bulk edits, no bulk deletes."""

    def update(self, **kwargs):
        raise PermissionDenied("The audit trail is append-only: entries are never changed.")

    def delete(self):
        raise PermissionDenied("The audit trail is append-only: entries are never deleted.")


class AuditEntry(models.Model):
    """Who did what, when, from where: privileged writes, admin edits, logins, MFA, downloads.

    Append-only for the application (``objects`` refuses updates and deletes, ``save`` refuses
    an existing row); deleting a user keeps their entries with the actor emptied, which
    Django does through the base manager.
    """

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=255)
    detail = models.TextField(blank=True)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_repr}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise PermissionDenied("The audit trail is append-only: entries are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("The audit trail is append-only: entries are never deleted.")


class County(models.Model):
    """A county: where a location is, and what an agency's service area is made of.

    It lives here, below both organisations, because both need it. The table keeps the
    name it was created with in the locations app: moving the model changed no rows.
    """

    name = models.CharField(max_length=100)
    state = models.CharField(max_length=2, help_text="Two-letter state code, e.g. NY.")
    # A county typed at sign-up waits (None) until Peer-RX staff accept it: until then only the
    # organisation that typed it sees it in a county list. Staff's and seeded counties are accepted.
    accepted_at = models.DateTimeField(
        null=True, blank=True, default=timezone.now, help_text="Empty while the county awaits staff."
    )

    class Meta:
        db_table = "locations_county"
        ordering = ["state", "name"]
        verbose_name_plural = "counties"
        constraints = [models.UniqueConstraint(fields=["state", "name"], name="county_unique_per_state")]

    def __str__(self) -> str:
        return f"{self.name} County, {self.state}"


class Organisation(models.Model):
    """What a location and an agency share: a name and a status only Peer-RX staff change.

    Staff verify an organisation before it can act and may suspend it; the row keeps who
    did it last and when (the audit trail keeps the history). Each concrete organisation
    has a ``memberships`` relation to its users, which the shared member code relies on.
    """

    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=OrganisationStatus.choices, default=OrganisationStatus.PENDING, db_index=True
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    # Who suspended it and when; cleared when it is verified again.
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suspended_at = models.DateTimeField(null=True, blank=True)
    mfa_required = models.BooleanField(
        "MFA required",
        default=False,
        help_text="Members must set up a second factor (authenticator app) before using Peer-RX.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_verified(self) -> bool:
        return self.status == OrganisationStatus.VERIFIED


class PendingChange(models.Model):
    """A verified organisation's change to who or where it is, waiting for Peer-RX staff.

    The old value stays in force until staff approve; approving applies the new value through
    the organisation's own details service, rejecting leaves it as it was. Values are stored
    as ``{"value": ..., "text": ...}``: what the service needs and what a person reads.
    """

    class Decision(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Replaced by a newer change"

    organisation_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.CASCADE, related_name="+"
    )
    organisation_id = models.PositiveBigIntegerField()
    organisation_repr = models.CharField("organisation", max_length=255)
    field = models.CharField(max_length=64)
    old_value = models.JSONField()
    new_value = models.JSONField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(db_index=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(
        max_length=16, choices=Decision.choices, default=Decision.PENDING, db_index=True
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["organisation_type", "organisation_id", "decision"])]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation_type", "organisation_id", "field"],
                condition=models.Q(decision="pending"),
                name="one_pending_change_per_field",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation_repr}: {self.field}"

    @property
    def old_text(self) -> str:
        return str(self.old_value.get("text", ""))

    @property
    def new_text(self) -> str:
        return str(self.new_value.get("text", ""))
