"""Reads about locations: their home page and their ranked preferred agencies."""

from dataclasses import dataclass

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import Count, Q, QuerySet

from agencies.models import Agency
from core.choices import OrganisationStatus
from locations.models import Location, LocationMembership, PreferredAgency

# More than this many ranked agencies adds nothing to matching and clutters the form.
MAX_PREFERRED_AGENCIES = 10


def preferred_agencies(*, location: Location) -> list[PreferredAgency]:
    """The location's ranked preferences, rank 1 first."""
    return list(PreferredAgency.objects.filter(location=location).select_related("agency").order_by("rank"))


def rankable_agencies(*, location: Location) -> QuerySet[Agency]:
    """Agencies a location may rank: verified ones serving its county, whose peers it can get."""
    return Agency.objects.filter(status=OrganisationStatus.VERIFIED, counties=location.county_id).order_by(
        "name"
    )


@dataclass(frozen=True)
class LocationOverview:
    location: Location
    active_staff: int
    invited_staff: int
    serving_agencies: int
    preferred: list[PreferredAgency]


def location_overview(*, location: Location) -> LocationOverview:
    """Key facts for the location's home page, in a constant number of queries."""
    staff = LocationMembership.objects.filter(location=location, user__is_active=True).aggregate(
        active=Count("pk"),
        # No usable password yet: the colleague has not followed the emailed link.
        invited=Count("pk", filter=Q(user__password__startswith=UNUSABLE_PASSWORD_PREFIX)),
    )
    return LocationOverview(
        location=location,
        active_staff=staff["active"],
        invited_staff=staff["invited"],
        serving_agencies=rankable_agencies(location=location).count(),
        preferred=preferred_agencies(location=location),
    )
