"""Writes every organisation shares: its members, its sign-up, its details and its status.

A location and an agency sign up, add members, and are verified or suspended the same
way (the fields of ``accounts.models.Organisation`` and a ``memberships`` relation to
their users), so those writes live here once, below both apps that use them.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.module_loading import import_string

from accounts.models import Organisation, PendingChange, User
from accounts.roles import agency_membership, is_peerrx_staff, location_membership
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


def staff_emails() -> list[str]:
    """Where mail for Peer-RX staff goes: every active staff account with an email."""
    return list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )


def _email_staff_about_signup(*, organisation: Organisation) -> None:
    """Tell Peer-RX staff a new organisation is waiting, so it does not sit unnoticed."""
    recipients = staff_emails()
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
    is_admin: bool = False,
    is_active: bool = True,
) -> models.Model:
    """A new user and their membership; without a password they choose one from an email."""
    user = get_user_model().objects.create_user(
        username=username.strip(),
        email=email.strip(),
        password=password,  # None gives an unusable password
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        is_active=is_active,
    )
    return organisation.memberships.create(user=user, is_admin=is_admin)


def add_first_member(
    *,
    organisation: Organisation,
    first_name: str,
    last_name: str,
    email: str,
    username: str,
    password: str,
) -> models.Model:
    """The person who signed the organisation up, with the password they chose: its first admin.

    The account stays inactive until its owner follows the link emailed to them
    (``confirm_signup``): a sign-up answers the same whether or not the email or username was
    already taken, so nothing about other accounts shows. Runs inside the sign-up's
    transaction; the link is mailed once it commits, and Peer-RX staff hear of the organisation
    when its first member confirms.
    """
    membership = create_member(
        organisation=organisation,
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        password=password,
        is_admin=True,
        is_active=False,
    )
    user = membership.user
    record_audit(
        actor=user,
        action=f"{organisation._meta.model_name}.signed_up",
        target=organisation,
        detail=f"by {user.username}, awaiting their email confirmation",
    )
    transaction.on_commit(lambda: _send_signup_mail(user=user, organisation=organisation))
    return membership


def _signup_context(**extra) -> dict:
    return {
        "login_link": _absolute(reverse("login")),
        "reset_link": _absolute(reverse("password_reset")),
        "support_contact": settings.PEERRX_SUPPORT_CONTACT,
        "timeout_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
        **extra,
    }


def _send_signup_mail(*, user: User, organisation: Organisation) -> None:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = _absolute(reverse("confirm_signup", kwargs={"uidb64": uid, "token": token}))
    context = _signup_context(user=user, organisation=organisation, link=link)
    subject = render_to_string("accounts/email/signup_confirm_subject.txt", context).strip()
    send_mail(subject, render_to_string("accounts/email/signup_confirm.txt", context), None, [user.email])


def refuse_signup_quietly(*, email: str, username: str, organisation_name: str, email_taken: bool) -> None:
    """A sign-up whose email (``email_taken``) or else username is already taken: nothing is
    created, and the page answers as for any sign-up. Only the mailbox given learns why: the owner
    of an existing account is told to log in or reset their password; someone new, to choose
    another username.
    """
    context = _signup_context(
        email=email.strip(), username=username.strip(), organisation_name=organisation_name
    )
    template = "signup_existing" if email_taken else "signup_username_taken"
    subject = render_to_string(f"accounts/email/{template}_subject.txt", context).strip()
    body = render_to_string(f"accounts/email/{template}.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, [email.strip()]))


@transaction.atomic
def confirm_signup(*, user: User) -> models.Model | None:
    """The first member followed their link: the account becomes active and Peer-RX staff are
    told of the organisation waiting for verification. None if it was confirmed already."""
    if not get_user_model().objects.filter(pk=user.pk, is_active=False).update(is_active=True):
        return None
    user.is_active = True
    membership = location_membership(user) or agency_membership(user)
    organisation = getattr(membership, "location", None) or membership.agency
    record_audit(actor=user, action=f"{organisation._meta.model_name}.signup_confirmed", target=organisation)
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

    Only the organisation's admins invite. Returns the new membership; the email goes only
    once the transaction commits.
    """
    _lock_as_admin(organisation=organisation, actor=invited_by)
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


class NotAnAdmin(PermissionDenied):
    """Only an organisation's admins change its members."""


def _lock_as_admin(*, organisation: Organisation, actor: User) -> None:
    """Lock the organisation (member changes run one after the other) and check the actor is its admin.

    An admin is an active member with ``is_admin`` whom Peer-RX has not blocked.
    """
    type(organisation).objects.select_for_update().filter(pk=organisation.pk).first()
    if not active_admins(organisation=organisation).filter(user=actor).exists():
        raise NotAnAdmin("Only your organisation's admins can change its members.")


def active_admins(*, organisation: Organisation) -> models.QuerySet:
    return organisation.memberships.filter(is_admin=True, blocked=False, user__is_active=True)


def _another_admin(membership: models.Model) -> bool:
    """Whether the organisation keeps an active admin without this membership."""
    return active_admins(organisation=membership.organisation).exclude(pk=membership.pk).exists()


LAST_ADMIN = "{organisation} must keep at least one active admin: make another member an admin first."


@transaction.atomic
def set_member_active(*, membership: models.Model, active: bool, actor: User) -> bool:
    """An admin deactivates a colleague who left (they can no longer log in), or brings them back.

    A member Peer-RX has blocked cannot be reactivated by the organisation.
    """
    organisation = membership.organisation
    _lock_as_admin(organisation=organisation, actor=actor)
    membership.refresh_from_db(fields=["is_admin", "blocked"])
    user = membership.user
    if not active and user.pk == actor.pk:
        raise ValidationError("You can't deactivate your own account.")
    if active and membership.blocked:
        raise ValidationError(f"Peer-RX has blocked {user}: only the Peer-RX team can restore their access.")
    if not active and membership.is_admin and not _another_admin(membership):
        raise ValidationError(LAST_ADMIN.format(organisation=organisation))
    changed = type(user).objects.filter(pk=user.pk).exclude(is_active=active).update(is_active=active)
    if not changed:
        return False
    user.is_active = active
    record_audit(
        actor=actor,
        action=f"{organisation._meta.model_name}.member_{'reactivated' if active else 'deactivated'}",
        target=user,
        detail=f"at {organisation}",
    )
    return True


@transaction.atomic
def set_member_admin(*, membership: models.Model, admin: bool, actor: User) -> bool:
    """An admin makes a colleague an admin, or takes it back; the organisation keeps one active admin."""
    organisation = membership.organisation
    _lock_as_admin(organisation=organisation, actor=actor)
    membership.refresh_from_db(fields=["is_admin", "blocked"])
    if admin and (membership.blocked or not membership.user.is_active):
        raise ValidationError(f"{membership.user} cannot be an admin while they cannot log in.")
    if not admin and membership.is_admin and not _another_admin(membership):
        raise ValidationError(LAST_ADMIN.format(organisation=organisation))
    changed = type(membership).objects.filter(pk=membership.pk).exclude(is_admin=admin).update(is_admin=admin)
    if not changed:
        return False
    membership.is_admin = admin
    record_audit(
        actor=actor,
        action=f"{organisation._meta.model_name}.admin_{'granted' if admin else 'revoked'}",
        target=membership.user,
        detail=f"at {organisation}",
    )
    return True


@transaction.atomic
def set_member_blocked(
    *, membership: models.Model, blocked: bool, actor: User, reason: str = "", now: dt.datetime | None = None
) -> bool:
    """Peer-RX staff block a member from the organisation's pages, or lift the block.

    No member can lift it: the organisation's own pages refuse a blocked member, and their
    colleagues cannot reactivate them. False when the membership already was so.
    """
    if not is_peerrx_staff(actor):
        raise PermissionDenied("Only Peer-RX staff block or unblock a member.")
    now = now or timezone.now()
    fields = {"blocked_by": actor, "blocked_at": now} if blocked else {"blocked_by": None, "blocked_at": None}
    model = type(membership)
    rows = model.objects.filter(pk=membership.pk).exclude(blocked=blocked)
    changed = rows.update(blocked=blocked, **fields)
    if not changed:
        return False
    membership.blocked = blocked
    for name, value in fields.items():
        setattr(membership, name, value)
    organisation = membership.organisation
    record_audit(
        actor=actor,
        action=f"{organisation._meta.model_name}.member_{'blocked' if blocked else 'unblocked'}",
        target=membership.user,
        detail=f"at {organisation}" + (f": {reason}" if reason else ""),
        at=now,
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


# --- Identity changes under review ------------------------------------------------------


@dataclass(frozen=True)
class DetailsSaved:
    """What a details form changed at once, and what waits for Peer-RX review."""

    changed: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changed or self.held)


def review_value(value) -> dict:
    """A field's value as a pending change stores it: what the service needs, what people read."""
    if isinstance(value, models.Model):
        return {"value": value.pk, "text": str(value)}
    if isinstance(value, list | tuple | set | models.QuerySet):
        items = sorted(value, key=str)
        return {"value": sorted(item.pk for item in items), "text": "; ".join(str(item) for item in items)}
    return {"value": None if value is None else str(value), "text": "" if value is None else str(value)}


def split_for_review(*, organisation: Organisation, values: dict, reviewed: bool) -> dict[str, tuple]:
    """Take out of ``values`` the changed identity fields a verified organisation must have reviewed.

    Returns ``{field: (old, new)}``; ``values`` keeps what applies at once. A pending
    organisation (nothing is in force yet) and an approved change (``reviewed``) hold nothing.
    """
    if reviewed or not organisation.is_verified:
        return {}
    held = {}
    for name in organisation.reviewed_fields:
        if name not in values:
            continue
        old = getattr(organisation, name)
        if isinstance(values[name], list | tuple | set):
            old = list(old.all())
            differs = {item.pk for item in old} != {item.pk for item in values[name]}
        else:
            differs = old != values[name]
        new = values.pop(name)
        if differs:
            held[name] = (old, new)
    return held


def hold_for_review(
    *, organisation: Organisation, actor: User, changes: dict[str, tuple], now: dt.datetime | None = None
) -> list[PendingChange]:
    """Queue each change for Peer-RX staff (a newer one replaces one still waiting), audit, mail staff."""
    if not changes:
        return []
    now = now or timezone.now()
    kind = ContentType.objects.get_for_model(organisation)
    type(organisation).objects.select_for_update().filter(pk=organisation.pk).first()
    rows = []
    for name, (old, new) in changes.items():
        PendingChange.objects.filter(
            organisation_type=kind,
            organisation_id=organisation.pk,
            field=name,
            decision=PendingChange.Decision.PENDING,
        ).update(decision=PendingChange.Decision.SUPERSEDED, reviewed_at=now)
        change = PendingChange.objects.create(
            organisation_type=kind,
            organisation_id=organisation.pk,
            organisation_repr=str(organisation)[:255],
            field=name,
            old_value=review_value(old),
            new_value=review_value(new),
            requested_by=actor,
            requested_at=now,
        )
        record_audit(
            actor=actor,
            action=f"{kind.model}.change_requested",
            target=organisation,
            detail=f"{name}: {change.old_text} → {change.new_text}",
            at=now,
        )
        rows.append(change)
    ids = [row.pk for row in rows]
    transaction.on_commit(lambda: _email_staff_about_changes(organisation=organisation, change_ids=ids))
    return rows


def _email_staff_about_changes(*, organisation: Organisation, change_ids: list[int]) -> None:
    recipients = staff_emails()
    if not recipients:
        return
    context = {
        "organisation": organisation,
        "kind": organisation._meta.verbose_name,
        "changes": list(PendingChange.objects.filter(pk__in=change_ids).order_by("id")),
        "review_link": _absolute(
            reverse("admin:accounts_pendingchange_changelist") + "?decision__exact=pending"
        ),
    }
    subject = render_to_string("accounts/email/change_staff_subject.txt", context).strip()
    body = render_to_string("accounts/email/change_staff.txt", context)
    send_mail(subject, body, None, recipients)


@transaction.atomic
def review_change(
    *, change: PendingChange, approve: bool, actor: User, now: dt.datetime | None = None
) -> bool:
    """Peer-RX staff approve (the change is applied) or reject (the old value stays) a pending change.

    A compare-and-set on the decision: two reviewers at once decide once. False when it was
    decided already.
    """
    if not is_peerrx_staff(actor):
        raise PermissionDenied("Only Peer-RX staff review changes.")
    now = now or timezone.now()
    decision = PendingChange.Decision.APPROVED if approve else PendingChange.Decision.REJECTED
    decided = PendingChange.objects.filter(pk=change.pk, decision=PendingChange.Decision.PENDING).update(
        decision=decision, reviewed_by=actor, reviewed_at=now
    )
    if not decided:
        return False
    change.decision, change.reviewed_by, change.reviewed_at = decision, actor, now
    model = change.organisation_type.model_class()
    organisation = model.objects.select_for_update().get(pk=change.organisation_id)
    if approve:
        apply = import_string(model.details_service)
        apply(organisation=organisation, field=change.field, value=change.new_value.get("value"), actor=actor)
    record_audit(
        actor=actor,
        action=f"{model._meta.model_name}.change_{decision}",
        target=organisation,
        detail=f"{change.field}: {change.old_text} → {change.new_text}",
        at=now,
    )
    return True
