"""Writes every organisation shares: its members, its sign-up, its details and its status.

A location and an agency sign up, add members, and are verified or suspended the same
way (the fields of ``accounts.models.Organisation`` and a ``memberships`` relation to
their users), so those writes live here once, below both apps that use them.
"""

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Organisation, User
from accounts.services import record_audit
from core.choices import OrganisationStatus

SIGNUP_WINDOW_SECONDS = 3600


def _absolute(path: str) -> str:
    return f"{settings.PEERRX_PUBLIC_BASE_URL}{path}"


def send_set_password_email(*, user: User, organisation: Organisation, invited_by: User) -> None:
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
    subject = render_to_string("accounts/email/set_password_subject.txt", context).strip()
    body = render_to_string("accounts/email/set_password.txt", context)
    send_mail(subject, body, None, [user.email])


def _email_staff_about_signup(*, organisation: Organisation) -> None:
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
    subject = render_to_string("accounts/email/signup_staff_subject.txt", context).strip()
    body = render_to_string("accounts/email/signup_staff.txt", context)
    send_mail(subject, body, None, recipients)


def signup_allowed(*, address: str) -> bool:
    """Count a sign-up from this address; False once PEERRX_SIGNUPS_PER_HOUR were made in the hour.

    Each sign-up emails every Peer-RX staff member and may add counties for them to review, so an
    address (the proxy's view of it) gets a few an hour. Counted in the cache, shared by every
    web process when it is Redis.
    """
    key = f"peerrx:signups:{address}"
    cache.add(key, 0, timeout=SIGNUP_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=SIGNUP_WINDOW_SECONDS)
        count = 1
    return count <= settings.PEERRX_SIGNUPS_PER_HOUR


def notify_staff_of_signup(*, organisation: Organisation) -> None:
    transaction.on_commit(lambda: _email_staff_about_signup(organisation=organisation))


def _email_members_about_status(*, organisation: Organisation) -> None:
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
    subject = render_to_string("accounts/email/status_subject.txt", context).strip()
    body = render_to_string("accounts/email/status.txt", context)
    send_mail(subject, body, None, recipients)


# --- Members ----------------------------------------------------------------------------


def create_member(
    *,
    organisation: Organisation,
    username: str,
    email: str,
    first_name: str,
    last_name: str,
    password: str | None,
) -> models.Model:
    """A new user and their membership; without a password they choose one from an email."""
    user = get_user_model().objects.create_user(
        username=username.strip(),
        email=email.strip(),
        password=password,  # None gives an unusable password
        first_name=first_name.strip(),
        last_name=last_name.strip(),
    )
    return organisation.memberships.create(user=user)


def add_first_member(
    *,
    organisation: Organisation,
    first_name: str,
    last_name: str,
    email: str,
    username: str,
    password: str,
) -> models.Model:
    """The person who signed the organisation up, with the password they chose.

    Runs inside the sign-up's transaction; Peer-RX staff are emailed once it commits.
    """
    membership = create_member(
        organisation=organisation,
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        password=password,
    )
    user = membership.user
    record_audit(
        actor=user,
        action=f"{organisation._meta.model_name}.signed_up",
        target=organisation,
        detail=f"by {user.username}",
    )
    notify_staff_of_signup(organisation=organisation)
    return membership


@transaction.atomic
def invite_member(
    *,
    organisation: Organisation,
    invited_by: User,
    first_name: str,
    last_name: str,
    email: str,
    username: str,
) -> models.Model:
    """A location's colleague or an agency's supervisor, emailed a link to choose a password.

    Returns the new membership; the email goes only once the transaction commits.
    """
    membership = create_member(
        organisation=organisation,
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        password=None,
    )
    user = membership.user
    record_audit(
        actor=invited_by,
        action=f"{organisation._meta.model_name}.member_added",
        target=user,
        detail=f"at {organisation}",
    )
    transaction.on_commit(
        lambda: send_set_password_email(user=user, organisation=organisation, invited_by=invited_by)
    )
    return membership


def set_member_active(*, user: User, organisation: Organisation, active: bool, actor: User) -> bool:
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


# --- Details and status -----------------------------------------------------------------


def changed_fields(instance: models.Model, values: dict) -> list[str]:
    """Set the values that differ on the instance; returns their names (nothing is saved)."""
    changed = []
    for name, value in values.items():
        current = getattr(instance, name)
        if current != value:
            changed.append(name)
            setattr(instance, name, value)
    return changed


@transaction.atomic
def change_organisation_status(
    *,
    organisation: Organisation,
    status: str,
    actor: User,
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
    model: type[Organisation] = type(organisation)
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


def verify_organisation(*, organisation: Organisation, actor: User, now: dt.datetime | None = None) -> bool:
    return change_organisation_status(
        organisation=organisation, status=OrganisationStatus.VERIFIED, actor=actor, now=now
    )


def suspend_organisation(
    *, organisation: Organisation, actor: User, reason: str = "", now: dt.datetime | None = None
) -> bool:
    return change_organisation_status(
        organisation=organisation, status=OrganisationStatus.SUSPENDED, actor=actor, reason=reason, now=now
    )
