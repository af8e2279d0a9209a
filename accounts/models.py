from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from core.choices import OrganisationStatus


class User(AbstractUser):
    """A person who signs in: Peer-RX staff, location staff or an agency supervisor.

    The role is not stored: it follows from ``is_staff`` and the organisation the user
    is a member of (see ``accounts.roles``). Peers never sign in; they use SMS only.
    """

    email = models.EmailField("email address", blank=True)
    phone = models.CharField(max_length=32, blank=True, help_text="Work phone or extension.")

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class AuditEntry(models.Model):
    """Who did what, when: verification, suspension, validation, assignment, overrides."""

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=255)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_repr}"


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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_verified(self) -> bool:
        return self.status == OrganisationStatus.VERIFIED
