"""Writes for agencies: sign-up, details, supervisors, verification and suspension.

The mechanics shared with locations (users, set-password emails, status changes) live
in ``locations.services``.
"""

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction

from accounts.services import record_audit
from agencies.models import Agency, AgencyMembership
from core.choices import OrganisationStatus
from locations.models import County
from locations.services import (
    change_organisation_status,
    changed_fields,
    create_member_user,
    get_or_create_county,
    invite_member,
    notify_staff_of_signup,
    set_member_active,
)

if TYPE_CHECKING:
    from accounts.models import User


def _all_counties(*, counties: Sequence[County], new_counties: Sequence[tuple[str, str]]) -> list[County]:
    resolved = list(counties)
    for state, name in new_counties:
        county = get_or_create_county(state=state, name=name)
        if county not in resolved:
            resolved.append(county)
    return resolved


@transaction.atomic
def register_agency(
    *,
    name: str,
    contact_name: str,
    phone: str,
    email: str,
    timezone_name: str,
    counties: Sequence[County],
    new_counties: Sequence[tuple[str, str]] = (),
    first_name: str,
    last_name: str,
    member_email: str,
    username: str,
    password: str,
) -> AgencyMembership:
    """A new agency, pending until Peer-RX staff verify it, and its first supervisor."""
    served = _all_counties(counties=counties, new_counties=new_counties)
    if not served:
        raise ValueError("An agency serves at least one county.")
    agency = Agency.objects.create(
        name=name.strip(),
        contact_name=contact_name.strip(),
        phone=phone,
        email=email.strip(),
        timezone=timezone_name,
        status=OrganisationStatus.PENDING,
    )
    agency.counties.set(served)
    user = create_member_user(
        username=username, email=member_email, first_name=first_name, last_name=last_name, password=password
    )
    membership = AgencyMembership.objects.create(user=user, agency=agency)
    record_audit(actor=user, action="agency.signed_up", target=agency, detail=f"by {user.username}")
    notify_staff_of_signup(organisation=agency)
    return membership


@transaction.atomic
def update_agency_details(
    *,
    agency: Agency,
    actor: "User",
    name: str,
    contact_name: str,
    phone: str,
    email: str,
    timezone_name: str,
    counties: Sequence[County],
    new_counties: Sequence[tuple[str, str]] = (),
) -> list[str]:
    """Save the agency's details and service area; returns the names of what changed."""
    served = _all_counties(counties=counties, new_counties=new_counties)
    if not served:
        raise ValueError("An agency serves at least one county.")
    values = {
        "name": name.strip(),
        "contact_name": contact_name.strip(),
        "phone": phone,
        "email": email.strip(),
        "timezone": timezone_name,
    }
    changed = changed_fields(agency, values)
    if changed:
        agency.save(update_fields=changed)
    before = set(agency.counties.values_list("pk", flat=True))
    if before != {county.pk for county in served}:
        agency.counties.set(served)
        changed.append("counties")
    if changed:
        # The service area decides whose peers are alerted: worth a trace.
        detail = ", ".join(changed)
        if "counties" in changed:
            detail += " (now: " + "; ".join(str(county) for county in served) + ")"
        record_audit(actor=actor, action="agency.details_changed", target=agency, detail=detail)
    return changed


@transaction.atomic
def add_agency_supervisor(
    *, agency: Agency, invited_by: "User", first_name: str, last_name: str, email: str, username: str
) -> AgencyMembership:
    """A fellow supervisor, who gets an email link to choose their password."""
    return invite_member(
        membership_model=AgencyMembership,
        organisation_field="agency",
        organisation=agency,
        invited_by=invited_by,
        first_name=first_name,
        last_name=last_name,
        email=email,
        username=username,
    )


def set_agency_member_active(*, membership: AgencyMembership, active: bool, actor: "User") -> bool:
    return set_member_active(user=membership.user, organisation=membership.agency, active=active, actor=actor)


def verify_agency(*, agency: Agency, actor: "User", now: dt.datetime | None = None) -> bool:
    return change_organisation_status(
        organisation=agency, status=OrganisationStatus.VERIFIED, actor=actor, now=now
    )


def suspend_agency(
    *, agency: Agency, actor: "User", reason: str = "", now: dt.datetime | None = None
) -> bool:
    return change_organisation_status(
        organisation=agency, status=OrganisationStatus.SUSPENDED, actor=actor, reason=reason, now=now
    )
