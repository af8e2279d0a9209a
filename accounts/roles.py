"""The three roles, derived from the user: Peer-RX staff, location staff, agency supervisor."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.core.exceptions import ObjectDoesNotExist

if TYPE_CHECKING:
    from agencies.models import AgencyMembership
    from locations.models import LocationMembership


class Role(StrEnum):
    STAFF = "staff"
    LOCATION = "location"
    AGENCY = "agency"
    NONE = "none"


def location_membership(user) -> LocationMembership | None:
    if not user.is_authenticated:
        return None
    try:
        return user.location_membership
    except ObjectDoesNotExist:
        return None


def agency_membership(user) -> AgencyMembership | None:
    if not user.is_authenticated:
        return None
    try:
        return user.agency_membership
    except ObjectDoesNotExist:
        return None


def role_of(user) -> Role:
    if not user.is_authenticated:
        return Role.NONE
    if user.is_staff:
        return Role.STAFF
    if location_membership(user) is not None:
        return Role.LOCATION
    if agency_membership(user) is not None:
        return Role.AGENCY
    return Role.NONE
