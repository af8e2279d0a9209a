from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from core.choices import TIME_ZONES, OrganisationStatus


class Agency(models.Model):
    """An organisation that employs peers.

    Its service area is a set of counties: its peers are alerted for requests from
    locations in those counties only.
    """

    name = models.CharField(max_length=200)
    contact_name = models.CharField("contact person", max_length=200)
    phone = PhoneNumberField()
    email = models.EmailField()
    timezone = models.CharField(
        max_length=64,
        choices=TIME_ZONES,
        default="America/New_York",
        help_text="Weekly hours of this agency's peers are read in this time zone.",
    )
    counties = models.ManyToManyField(
        "locations.County", related_name="agencies", verbose_name="counties served"
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

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name

    @property
    def is_verified(self) -> bool:
        return self.status == OrganisationStatus.VERIFIED


class AgencyMembership(models.Model):
    """A supervisor who manages an agency's roster, credentials and hours."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agency_membership"
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} at {self.agency}"
