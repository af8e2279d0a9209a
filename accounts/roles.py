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


def is_peerrx_staff(user) -> bool:
    """A Peer-RX staff account: the staff pages and the admin's door (``is_staff``).

    What such an account may do in the admin comes from its permissions, which the
    "Peer-RX staff" group gives (``accounts.staff_group``); superusers are for operators.
    """
    return user.is_authenticated and user.is_active and user.is_staff


def role_of(user) -> Role:
    if not user.is_authenticated:
        return Role.NONE
    if is_peerrx_staff(user):
        return Role.STAFF
    if location_membership(user) is not None:
        return Role.LOCATION
    if agency_membership(user) is not None:
        return Role.AGENCY
    return Role.NONE
