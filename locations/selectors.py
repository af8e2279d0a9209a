"""Reads about counties, locations, their staff and their ranked preferred agencies."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import Count, Q, QuerySet

from agencies.models import Agency
from core.choices import OrganisationStatus
from locations.models import County, Location, LocationMembership, PreferredAgency

# More than this many ranked agencies adds nothing to matching and clutters the form.
MAX_PREFERRED_AGENCIES = 10


def county_list() -> QuerySet[County]:
    return County.objects.order_by("state", "name")


def find_county(*, state: str, name: str) -> County | None:
    """A county by state and name, ignoring case and a trailing "County"."""
    return County.objects.filter(state__iexact=state, name__iexact=normalise_county_name(name)).first()


def normalise_county_name(name: str) -> str:
    """'  orange county ' -> 'orange': the "County" suffix is added when displayed."""
    cleaned = " ".join(name.split())
    if cleaned.lower().endswith(" county"):
        cleaned = cleaned[: -len(" county")].rstrip()
    return cleaned


def location_members(*, location: Location) -> QuerySet[LocationMembership]:
    """The location's staff, active first, in one query."""
    return (
        LocationMembership.objects.filter(location=location)
        .select_related("user")
        .order_by("-user__is_active", "user__last_name", "user__first_name", "user__username")
    )


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


def email_in_use(email: str) -> bool:
    return get_user_model().objects.filter(email__iexact=email.strip()).exists()


def username_in_use(username: str) -> bool:
    return get_user_model().objects.filter(username__iexact=username.strip()).exists()
