"""Writes for agencies: sign-up and details, service area included.

What an agency shares with a location (supervisors, verification, suspension) is in
``accounts.organisations``; counties come from ``accounts.services``.
"""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import County, User
from accounts.organisations import (
    DetailsSaved,
    add_first_member,
    changed_fields,
    hold_for_review,
    split_for_review,
)
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
    reviewed: bool = False,
) -> DetailsSaved:
    """Save the agency's details and service area: what changed at once, what waits for review.

    A verified agency's name and counties served change only once Peer-RX staff approve
    (``Agency.reviewed_fields``); ``reviewed=True`` is that approval being applied.
    """
    served = _all_counties(counties=counties, new_counties=new_counties)
    if not served:
        raise ValueError("An agency serves at least one county.")
    values = {
        "name": name.strip(),
        "contact_name": contact_name.strip(),
        "phone": phone,
        "email": email.strip(),
        "timezone": timezone_name,
        "counties": served,
    }
    held = split_for_review(organisation=agency, values=values, reviewed=reviewed)
    served = values.pop("counties", None)
    changed = changed_fields(agency, values)
    if changed:
        agency.save(update_fields=changed)
    if served is not None:
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
    hold_for_review(organisation=agency, actor=actor, changes=held)
    return DetailsSaved(changed=changed, held=list(held))


def apply_reviewed_change(*, organisation: Agency, field: str, value, actor: User) -> DetailsSaved:
    """Apply a change Peer-RX staff approved, through the details form's own service."""
    agency = organisation
    arguments = {
        "name": agency.name,
        "contact_name": agency.contact_name,
        "phone": agency.phone,
        "email": agency.email,
        "timezone_name": agency.timezone,
        "counties": list(agency.counties.all()),
    }
    if field == "name":
        arguments["name"] = value
    elif field == "counties":
        arguments["counties"] = list(County.objects.filter(pk__in=value or []))
        if len(arguments["counties"]) != len(set(value or [])):
            raise ValidationError("A county of this change no longer exists.")
    else:
        raise ValueError(f"An agency's {field!r} is not reviewed.")
    return update_agency_details(agency=agency, actor=actor, reviewed=True, **arguments)
