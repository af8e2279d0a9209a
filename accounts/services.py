"""Writes of the floor every app stands on: the audit trail and counties."""

from django.db import models
from django.utils import timezone

from accounts.models import AuditEntry, County, User
from accounts.selectors import find_county, normalise_county_name


def record_audit(
    *,
    actor: User | None,
    action: str,
    target: models.Model,
    detail: str = "",
    at=None,
) -> AuditEntry:
    """Append one audit row; callers run it inside the transaction of the change itself."""
    return AuditEntry.objects.create(
        at=at or timezone.now(),
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_repr=str(target)[:255],
        detail=detail,
    )


def get_or_create_county(*, state: str, name: str) -> County:
    """The county typed on a form, created the first time someone names it."""
    existing = find_county(state=state, name=name)
    if existing is not None:
        return existing
    cleaned = normalise_county_name(name)
    county, _ = County.objects.get_or_create(state=state.upper(), name=cleaned[:1].upper() + cleaned[1:])
    return county
