"""Reads about agencies: their service area. The dashboard numbers are the roster's (``peers.selectors``)."""

from accounts.models import County
from agencies.models import Agency


def counties_served(*, agency: Agency) -> list[County]:
    return list(agency.counties.order_by("state", "name"))
