"""Writes for agencies: sign-up and details, service area included.

What an agency shares with a location (supervisors, verification, suspension) is in
``accounts.organisations``; counties come from ``accounts.services``.
"""

from collections.abc import Sequence

from django.db import transaction

from accounts.models import County, User
from accounts.organisations import add_first_member, changed_fields
from accounts.services import get_or_create_county, record_audit
from agencies.models import Agency, AgencyMembership
from core.choices import OrganisationStatus


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
    return add_first_member(
        organisation=agency,
        first_name=first_name,
        last_name=last_name,
        email=member_email,
        username=username,
        password=password,
    )


@transaction.atomic
def update_agency_details(
    *,
    agency: Agency,
    actor: User,
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
