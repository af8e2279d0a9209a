from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from accounts.models import Organisation
from core.choices import TIME_ZONES


class Agency(Organisation):
    """An organisation that employs peers.

    Its service area is a set of counties: its peers are alerted for requests from
    locations in those counties only.
    """

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
        "accounts.County", related_name="agencies", verbose_name="counties served"
    )
    backup_counties = models.ManyToManyField(
        "accounts.County",
        related_name="backup_agencies",
        blank=True,
        verbose_name="backup counties",
        help_text="Counties this agency serves when their own agencies cannot: its peers are alerted "
        "in a second wave when a request there has no YES.",
    )

    # Once verified, changes to these wait for Peer-RX review (``accounts.organisations``);
    # backup counties are set by Peer-RX staff alone, in the admin.
    reviewed_fields = ("name", "counties")
    details_service = "agencies.services.apply_reviewed_change"

    class Meta(Organisation.Meta):
        verbose_name_plural = "agencies"


class AgencyMembership(models.Model):
    """A supervisor who manages an agency's roster, credentials and hours."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agency_membership"
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
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
        return f"{self.user} at {self.agency}"

    @property
    def organisation(self) -> Agency:
        return self.agency
