"""Reads about agencies: their supervisors and the dashboard numbers."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from agencies.models import Agency, AgencyMembership
from locations.models import County
from peers.models import Credential, Peer
from peers.selectors import available_peers

# Credentials expiring within this many days are flagged on the dashboard.
EXPIRY_WARNING_DAYS = 30


def agency_members(*, agency: Agency) -> QuerySet[AgencyMembership]:
    """The agency's supervisors, active first, in one query."""
    return (
        AgencyMembership.objects.filter(agency=agency)
        .select_related("user")
        .order_by("-user__is_active", "user__last_name", "user__first_name", "user__username")
    )


def counties_served(*, agency: Agency) -> list[County]:
    return list(agency.counties.order_by("state", "name"))


@dataclass(frozen=True)
class AgencyOverview:
    agency: Agency
    counties: list[County]
    active_peers: int
    available_now: int
    pending_credentials: int
    expiring_credentials: int
    supervisors: int


def agency_overview(*, agency: Agency, now: dt.datetime | None = None) -> AgencyOverview:
    """The dashboard numbers, in a constant number of queries whatever the roster's size."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    active = Peer.objects.filter(agency=agency, is_active=True)
    credentials = Credential.objects.filter(peer__agency=agency, peer__is_active=True).aggregate(
        pending=Count("pk", filter=Q(status=Credential.Status.PENDING)),
        expiring=Count(
            "pk",
            filter=Q(
                status=Credential.Status.VALIDATED,
                expires_on__gte=today,
                expires_on__lte=today + dt.timedelta(days=EXPIRY_WARNING_DAYS),
            ),
        ),
    )
    return AgencyOverview(
        agency=agency,
        counties=counties_served(agency=agency),
        active_peers=active.count(),
        available_now=available_peers(at=now, queryset=active.filter(opted_out_at__isnull=True)).count(),
        pending_credentials=credentials["pending"],
        expiring_credentials=credentials["expiring"],
        supervisors=AgencyMembership.objects.filter(agency=agency, user__is_active=True).count(),
    )
