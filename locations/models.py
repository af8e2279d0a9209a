from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from accounts.models import Organisation
from core.choices import TIME_ZONES


class Location(Organisation):
    """A hospital emergency department, hospital unit or clinic whose staff request peers."""

    class Kind(models.TextChoices):
        EMERGENCY_DEPARTMENT = "emergency_department", "Emergency department"
        HOSPITAL_UNIT = "hospital_unit", "Hospital unit"
        CLINIC = "clinic", "Clinic"
        OTHER = "other", "Other"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    address = models.CharField(max_length=300)
    county = models.ForeignKey("accounts.County", on_delete=models.PROTECT, related_name="locations")
    timezone = models.CharField(max_length=64, choices=TIME_ZONES, default="America/New_York")
    notification_phone = PhoneNumberField(
        help_text="Gets a text when a peer is assigned or a request expires. No patient details are sent."
    )
    preferred_agencies = models.ManyToManyField(
        "agencies.Agency", through="PreferredAgency", related_name="preferred_by", blank=True
    )

    # Once verified, changes to these wait for Peer-RX review (``accounts.organisations``);
    # an approved change is applied by ``details_service``, the details form's own service.
    reviewed_fields = ("name", "address", "county", "notification_phone")
    details_service = "locations.services.apply_reviewed_change"


class LocationMembership(models.Model):
    """A user who works at a location (ED nurse, social worker, clinic staff)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="location_membership"
    )
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)
    # The organisation's own admins add, deactivate and reactivate colleagues and grant admin.
    is_admin = models.BooleanField("organisation admin", default=False)
    # Set by Peer-RX staff only (``accounts.organisations.set_member_blocked``): no member clears it.
    blocked = models.BooleanField("blocked by Peer-RX", default=False)
    blocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    blocked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} at {self.location}"

    @property
    def organisation(self) -> Location:
        return self.location


class PreferredAgency(models.Model):
    """A location's ranked preference for an agency; rank 1 is the most preferred."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="agency_preferences")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["location", "rank"]
        verbose_name_plural = "preferred agencies"
        constraints = [
            models.UniqueConstraint(fields=["location", "agency"], name="preferred_agency_once"),
            models.UniqueConstraint(fields=["location", "rank"], name="preferred_agency_rank_unique"),
            models.CheckConstraint(condition=models.Q(rank__gte=1), name="preferred_agency_rank_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.location}: #{self.rank} {self.agency}"
