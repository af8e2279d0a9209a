"""Writes for locations: sign-up, details and the ranked preferred agencies.

What a location shares with an agency (members, verification, suspension) is in
``accounts.organisations``; its county comes from ``accounts.services``.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

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
from core.choices import OrganisationStatus
from locations.models import Location, LocationMembership, PreferredAgency
from locations.selectors import MAX_PREFERRED_AGENCIES, rankable_agencies

if TYPE_CHECKING:
    from agencies.models import Agency


@transaction.atomic
def register_location(
    *,
    name: str,
    kind: str,
    address: str,
    county: County | None,
    county_state: str = "",
    county_name: str = "",
    timezone_name: str,
    notification_phone: str,
    first_name: str,
    last_name: str,
    email: str,
    username: str,
    password: str,
) -> LocationMembership:
    """A new location, pending until Peer-RX staff verify it, and its first staff member."""
    if county is None:
        county = get_or_create_county(state=county_state, name=county_name)
    location = Location.objects.create(
        name=name.strip(),
        kind=kind,
        address=address.strip(),
        county=county,
        timezone=timezone_name,
        notification_phone=notification_phone,
        status=OrganisationStatus.PENDING,
    )
    return add_first_member(
        organisation=location,
        first_name=first_name,
        last_name=last_name,
        email=email,
        username=username,
        password=password,
    )


@transaction.atomic
def update_location_details(
    *,
    location: Location,
    actor: User,
    name: str,
    kind: str,
    address: str,
    county: County | None,
    county_state: str = "",
    county_name: str = "",
    timezone_name: str,
    notification_phone: str,
    reviewed: bool = False,
) -> DetailsSaved:
    """Save the location's details: what changed at once, and what waits for Peer-RX review.

    A verified location's name, address, county and notification phone change only once staff
    approve (``Location.reviewed_fields``); ``reviewed=True`` is that approval being applied.
    """
    if county is None:
        county = get_or_create_county(state=county_state, name=county_name)
    values = {
        "name": name.strip(),
        "kind": kind,
        "address": address.strip(),
        "county": county,
        "timezone": timezone_name,
        "notification_phone": notification_phone,
    }
    held = split_for_review(organisation=location, values=values, reviewed=reviewed)
    changed = changed_fields(location, values)
    if changed:
        location.save(update_fields=changed)
        record_audit(
            actor=actor, action="location.details_changed", target=location, detail=", ".join(changed)
        )
    hold_for_review(organisation=location, actor=actor, changes=held)
    return DetailsSaved(changed=changed, held=list(held))


def apply_reviewed_change(*, organisation: Location, field: str, value, actor: User) -> DetailsSaved:
    """Apply a change Peer-RX staff approved, through the details form's own service."""
    location = organisation
    arguments = {
        "name": location.name,
        "kind": location.kind,
        "address": location.address,
        "county": location.county,
        "timezone_name": location.timezone,
        "notification_phone": location.notification_phone,
    }
    if field == "county":
        arguments["county"] = County.objects.filter(pk=value).first()
        if arguments["county"] is None:
            raise ValidationError("The county of this change no longer exists.")
    elif field in {"name", "address", "notification_phone"}:
        arguments[field] = value
    else:
        raise ValueError(f"A location's {field!r} is not reviewed.")
    return update_location_details(location=location, actor=actor, reviewed=True, **arguments)


@transaction.atomic
def replace_preferred_agencies(
    *, location: Location, agencies: Sequence["Agency"], actor: User
) -> list[PreferredAgency]:
    """Replace the ranked list in one transaction: the first agency gets rank 1.

    Forms check the same rules with friendlier messages; this is the last line of defence.
    """
    ids = [agency.pk for agency in agencies]
    if len(set(ids)) != len(ids):
        raise ValidationError("An agency can be ranked only once.")
    if len(ids) > MAX_PREFERRED_AGENCIES:
        raise ValidationError(f"Rank at most {MAX_PREFERRED_AGENCIES} agencies.")
    allowed = set(rankable_agencies(location=location).filter(pk__in=ids).values_list("pk", flat=True))
    if set(ids) - allowed:
        raise ValidationError("Only verified agencies serving the location's county can be ranked.")
    # Lock the location row so two editors replace the list one after the other.
    Location.objects.select_for_update().filter(pk=location.pk).first()
    PreferredAgency.objects.filter(location=location).delete()
    rows = PreferredAgency.objects.bulk_create(
        PreferredAgency(location=location, agency=agency, rank=rank)
        for rank, agency in enumerate(agencies, start=1)
    )
    record_audit(
        actor=actor,
        action="location.preferred_agencies_changed",
        target=location,
        detail="; ".join(f"{row.rank}. {row.agency}" for row in rows) or "(none)",
    )
    return rows
