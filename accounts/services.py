"""Writes of the floor every app stands on: the audit trail and counties."""

import datetime as dt
from collections.abc import Iterable

from django.db import models, transaction
from django.utils import timezone

from accounts.models import AuditEntry, County, User
from accounts.request_context import USER_AGENT_MAX, current_origin
from accounts.selectors import find_county, normalise_county_name


def record_audit(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None,
    detail: str = "",
    at=None,
    ip: str | None = None,
    user_agent: str | None = None,
    target_repr: str = "",
) -> AuditEntry:
    """Append one audit row; callers run it inside the transaction of the change itself.

    The client's address and browser come from the current request (``request_context``)
    unless given. Without a ``target`` (a failed login for a username nobody has), the entry
    names the user model and ``target_repr``.
    """
    origin = current_origin.get()
    if ip is None and origin is not None:
        ip = origin.ip
    if user_agent is None:
        user_agent = origin.user_agent if origin is not None else ""
    return AuditEntry.objects.create(
        at=at or timezone.now(),
        ip=ip,
        user_agent=user_agent[:USER_AGENT_MAX],
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=(target._meta if target is not None else User._meta).label_lower,
        target_id=str(target.pk) if target is not None else "",
        target_repr=(target_repr or str(target))[:255],
        detail=detail,
    )


def get_or_create_county(*, state: str, name: str) -> County:
    """The county typed on a form, created the first time someone names it."""
    existing = find_county(state=state, name=name)
    if existing is not None:
        return existing
    cleaned = normalise_county_name(name)
    # Typed by someone signing up: pending until Peer-RX staff accept it (accept_counties).
    county, _ = County.objects.get_or_create(
        state=state.upper(), name=cleaned[:1].upper() + cleaned[1:], defaults={"accepted_at": None}
    )
    return county


def accept_counties(*, counties: Iterable[County], actor: User, now: dt.datetime | None = None) -> int:
    """Staff accept counties typed at sign-up: every organisation may then choose them.

    Compare-and-set on the pending ones, so two staff accepting at once record each county once.
    """
    now = now or timezone.now()
    accepted = 0
    for county in counties:
        with transaction.atomic():
            if County.objects.filter(pk=county.pk, accepted_at__isnull=True).update(accepted_at=now):
                accepted += 1
                record_audit(actor=actor, action="county.accepted", target=county, detail=str(county), at=now)
    return accepted
