"""Writes for locations, plus the organisation mechanics agencies share.

Sign-up, adding a colleague, verification and suspension work the same way for a
location and an agency (same status fields, a ``memberships`` relation to users), so
those helpers live here once and ``agencies.services`` calls them.
"""

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.services import record_audit
from core.choices import OrganisationStatus
from locations.models import County, Location, LocationMembership, PreferredAgency
from locations.selectors import MAX_PREFERRED_AGENCIES, find_county, normalise_county_name, rankable_agencies

if TYPE_CHECKING:
    from accounts.models import User
    from agencies.models import Agency

    Organisation = Location | Agency


# --- Shared by locations and agencies ---------------------------------------------------


def get_or_create_county(*, state: str, name: str) -> County:
    """The county typed on a form, created the first time someone names it."""
    existing = find_county(state=state, name=name)
    if existing is not None:
        return existing
    cleaned = normalise_county_name(name)
    county, _ = County.objects.get_or_create(state=state.upper(), name=cleaned[:1].upper() + cleaned[1:])
    return county


def create_member_user(
    *, username: str, email: str, first_name: str, last_name: str, password: str | None
) -> "User":
    """A user who will be linked to an organisation; without a password they set one by email."""
    user = get_user_model().objects.create_user(
        username=username.strip(),
        email=email.strip(),
        password=password,  # None gives an unusable password
        first_name=first_name.strip(),
        last_name=last_name.strip(),
    )
    return user


def _absolute(path: str) -> str:
    return f"{settings.PEERRX_PUBLIC_BASE_URL}{path}"


def send_set_password_email(*, user: "User", organisation: "Organisation", invited_by: "User") -> None:
    """Email a link to choose a password, made with Django's password-reset tokens.

    The token is bound to the current password hash, so it stops working once used.
    """
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    context = {
        "user": user,
        "organisation": organisation,
        "invited_by": invited_by,
        "link": _absolute(reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})),
        "login_link": _absolute(reverse("login")),
        "timeout_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
        "support_contact": settings.PEERRX_SUPPORT_CONTACT,
    }
    subject = render_to_string("locations/email/set_password_subject.txt", context).strip()
    body = render_to_string("locations/email/set_password.txt", context)
    send_mail(subject, body, None, [user.email])


def _email_staff_about_signup(*, organisation: "Organisation") -> None:
    """Tell Peer-RX staff a new organisation is waiting, so it does not sit unnoticed."""
    recipients = list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        return
    meta = organisation._meta
    context = {
        "organisation": organisation,
        "kind": meta.verbose_name,
        "admin_link": _absolute(
            reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[organisation.pk])
        ),
    }
    subject = render_to_string("locations/email/signup_staff_subject.txt", context).strip()
    body = render_to_string("locations/email/signup_staff.txt", context)
    send_mail(subject, body, None, recipients)


def notify_staff_of_signup(*, organisation: "Organisation") -> None:
    transaction.on_commit(lambda: _email_staff_about_signup(organisation=organisation))


def _email_members_about_status(*, organisation: "Organisation") -> None:
    recipients = list(
        organisation.memberships.filter(user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not recipients:
        return
    context = {
        "organisation": organisation,
        "login_link": _absolute(reverse("login")),
        "support_contact": settings.PEERRX_SUPPORT_CONTACT,
    }
    subject = render_to_string("locations/email/status_subject.txt", context).strip()
    body = render_to_string("locations/email/status.txt", context)
    send_mail(subject, body, None, recipients)


@transaction.atomic
def change_organisation_status(
    *,
    organisation: "Organisation",
    status: str,
    actor: "User",
    reason: str = "",
    now: dt.datetime | None = None,
) -> bool:
    """Verify or suspend a location or an agency; False when it already had that status.

    A compare-and-set update, so two staff clicking at once record one change, not two.
    """
    now = now or timezone.now()
    if status == OrganisationStatus.VERIFIED:
        fields = {"verified_by": actor, "verified_at": now, "suspended_by": None, "suspended_at": None}
    elif status == OrganisationStatus.SUSPENDED:
        fields = {"suspended_by": actor, "suspended_at": now}
    else:
        raise ValueError(f"Organisations can only be verified or suspended, not {status!r}.")
    model: type[models.Model] = type(organisation)
    changed = model.objects.filter(pk=organisation.pk).exclude(status=status).update(status=status, **fields)
    if not changed:
        return False
    organisation.status = status
    for name, value in fields.items():
        setattr(organisation, name, value)
    record_audit(
        actor=actor, action=f"{model._meta.model_name}.{status}", target=organisation, detail=reason, at=now
    )
    transaction.on_commit(lambda: _email_members_about_status(organisation=organisation))
    return True


def set_member_active(*, user: "User", organisation: "Organisation", active: bool, actor: "User") -> bool:
    """Deactivate a colleague who left (they can no longer log in), or bring them back."""
    if not active and user.pk == actor.pk:
        raise ValidationError("You can't deactivate your own account.")
    if user.is_active == active:
        return False
    user.is_active = active
    user.save(update_fields=["is_active"])
    record_audit(
        actor=actor,
        action=f"{organisation._meta.model_name}.member_{'reactivated' if active else 'deactivated'}",
        target=user,
        detail=f"at {organisation}",
    )
    return True


def changed_fields(instance: models.Model, values: dict) -> list[str]:
    """Set the values that differ on the instance; returns their names (nothing is saved)."""
    changed = []
    for name, value in values.items():
        current = getattr(instance, name)
        if current != value:
            changed.append(name)
            setattr(instance, name, value)
    return changed


# --- Locations ------------------------------------------------------------------------


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
    user = create_member_user(
        username=username, email=email, first_name=first_name, last_name=last_name, password=password
    )
    membership = LocationMembership.objects.create(user=user, location=location)
    record_audit(actor=user, action="location.signed_up", target=location, detail=f"by {user.username}")
    notify_staff_of_signup(organisation=location)
    return membership


@transaction.atomic
def update_location_details(
    *,
    location: Location,
    actor: "User",
    name: str,
    kind: str,
    address: str,
    county: County | None,
    county_state: str = "",
    county_name: str = "",
    timezone_name: str,
    notification_phone: str,
) -> list[str]:
    """Save the location's details; returns the names of the fields that changed."""
    if county is None:
        county = get_or_create_county(state=county_state, name=county_name)
    changed = changed_fields(
        location,
        {
            "name": name.strip(),
            "kind": kind,
            "address": address.strip(),
            "county": county,
            "timezone": timezone_name,
            "notification_phone": notification_phone,
        },
    )
    if changed:
        location.save(update_fields=changed)
        record_audit(
            actor=actor, action="location.details_changed", target=location, detail=", ".join(changed)
        )
    return changed


def invite_member(
    *,
    membership_model: type[models.Model],
    organisation_field: str,
    organisation: models.Model,
    invited_by: "User",
    **person: str,
) -> models.Model:
    """A member of a location or agency, who gets an email link to choose their password.

    Runs inside the caller's transaction; the email goes only once it commits.
    """
    user = create_member_user(password=None, **person)
    membership = membership_model.objects.create(user=user, **{organisation_field: organisation})
    record_audit(
        actor=invited_by,
        action=f"{organisation_field}.member_added",
        target=user,
        detail=f"at {organisation}",
    )
    transaction.on_commit(
        lambda: send_set_password_email(user=user, organisation=organisation, invited_by=invited_by)
    )
    return membership


@transaction.atomic
def add_location_colleague(
    *, location: Location, invited_by: "User", first_name: str, last_name: str, email: str, username: str
) -> LocationMembership:
    """A colleague at the location, who gets an email link to choose their password."""
    return invite_member(
        membership_model=LocationMembership,
        organisation_field="location",
        organisation=location,
        invited_by=invited_by,
        first_name=first_name,
        last_name=last_name,
        email=email,
        username=username,
    )


def set_location_member_active(*, membership: LocationMembership, active: bool, actor: "User") -> bool:
    return set_member_active(
        user=membership.user, organisation=membership.location, active=active, actor=actor
    )


@transaction.atomic
def replace_preferred_agencies(
    *, location: Location, agencies: Sequence["Agency"], actor: "User"
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


def verify_location(*, location: Location, actor: "User", now: dt.datetime | None = None) -> bool:
    return change_organisation_status(
        organisation=location, status=OrganisationStatus.VERIFIED, actor=actor, now=now
    )


def suspend_location(
    *, location: Location, actor: "User", reason: str = "", now: dt.datetime | None = None
) -> bool:
    return change_organisation_status(
        organisation=location, status=OrganisationStatus.SUSPENDED, actor=actor, reason=reason, now=now
    )
