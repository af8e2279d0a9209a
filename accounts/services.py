from django.db import models
from django.utils import timezone

from accounts.models import AuditEntry, User


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
