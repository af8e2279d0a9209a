"""Reads the organisations share: counties, users by name or email, an organisation's members."""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet

from accounts.models import County, Organisation, PendingChange


def county_list(*, also: Iterable[int] = ()) -> QuerySet[County]:
    """The counties to choose from: those staff accepted, and ``also`` (the ids of an
    organisation's own, which it may have typed at sign-up and which may still be pending)."""
    accepted_or_own = Q(accepted_at__isnull=False) | Q(pk__in=list(also))
    return County.objects.filter(accepted_or_own).order_by("state", "name")


def pending_counties() -> QuerySet[County]:
    return County.objects.filter(accepted_at__isnull=True).order_by("state", "name")


def find_county(*, state: str, name: str) -> County | None:
    """A county by state and name, ignoring case and a trailing "County"."""
    return County.objects.filter(state__iexact=state, name__iexact=normalise_county_name(name)).first()


def normalise_county_name(name: str) -> str:
    """'  orange county ' -> 'orange': the "County" suffix is added when displayed."""
    cleaned = " ".join(name.split())
    if cleaned.lower().endswith(" county"):
        cleaned = cleaned[: -len(" county")].rstrip()
    return cleaned


def organisation_members(*, organisation: Organisation) -> QuerySet:
    """A location's staff or an agency's supervisors, active first, in one query."""
    return organisation.memberships.select_related("user").order_by(
        "-user__is_active", "user__last_name", "user__first_name", "user__username"
    )


def email_in_use(email: str) -> bool:
    return get_user_model().objects.filter(email__iexact=email.strip()).exists()


def username_in_use(username: str) -> bool:
    return get_user_model().objects.filter(username__iexact=username.strip()).exists()


def pending_changes(*, organisation: Organisation) -> list[PendingChange]:
    """The organisation's changes still waiting for Peer-RX review, oldest first."""
    return list(
        PendingChange.objects.filter(
            organisation_type=ContentType.objects.get_for_model(organisation),
            organisation_id=organisation.pk,
            decision=PendingChange.Decision.PENDING,
        )
        .select_related("requested_by")
        .order_by("requested_at", "id")
    )
