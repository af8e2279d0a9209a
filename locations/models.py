from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from core.choices import TIME_ZONES, OrganisationStatus


class County(models.Model):
    """A county: where a location is, and what an agency's service area is made of."""

    name = models.CharField(max_length=100)
    state = models.CharField(max_length=2, help_text="Two-letter state code, e.g. NY.")

    class Meta:
        ordering = ["state", "name"]
        verbose_name_plural = "counties"
        constraints = [models.UniqueConstraint(fields=["state", "name"], name="county_unique_per_state")]

    def __str__(self) -> str:
        return f"{self.name} County, {self.state}"


class Location(models.Model):
    class Kind(models.TextChoices):
        EMERGENCY_DEPARTMENT = "emergency_department", "Emergency department"
        HOSPITAL_UNIT = "hospital_unit", "Hospital unit"
        CLINIC = "clinic", "Clinic"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    address = models.CharField(max_length=300)
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="locations")
    timezone = models.CharField(max_length=64, choices=TIME_ZONES, default="America/New_York")
    notification_phone = PhoneNumberField(
        help_text="Gets a text when a peer is assigned or a request expires. No patient details are sent."
    )
    status = models.CharField(
        max_length=16, choices=OrganisationStatus.choices, default=OrganisationStatus.PENDING, db_index=True
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    # Who suspended it and when; cleared when it is verified again (the audit trail keeps history).
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suspended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    preferred_agencies = models.ManyToManyField(
        "agencies.Agency", through="PreferredAgency", related_name="preferred_by", blank=True
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_verified(self) -> bool:
        return self.status == OrganisationStatus.VERIFIED


class LocationMembership(models.Model):
    """A user who works at a location (ED nurse, social worker, clinic staff)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="location_membership"
    )
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} at {self.location}"


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
