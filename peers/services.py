"""Every write about peers: roster, credentials, weekly hours and availability overrides.

Services raise ``ValidationError`` (keyed by field where there is one) for bad input, so a
form can show the message beside the field; nothing is saved half-way because each one
runs in a single transaction.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from accounts.models import User
from accounts.services import record_audit
from agencies.models import Agency
from core import phones
from core.choices import AgeRange, Gender
from peers import consent
from peers.models import AvailabilityOverride, AvailabilityWindow, Credential, CredentialType, Language, Peer
from peers.validators import validate_credential_document

SECONDS_PER_DAY = 24 * 3600
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY
DUPLICATE_PHONE = "This mobile number is already registered in Peer-RX."
INVALID_PHONE = "Enter a valid mobile number, e.g. (845) 555-0123 or +1 845 555 0123."


# --- peers ------------------------------------------------------------------------------


def normalise_phone(phone: str | PhoneNumber) -> PhoneNumber:
    """E.164 or a ``ValidationError`` on ``phone`` (``core.phones`` reads the number)."""
    number = phones.parse(phone)
    if number is None:
        raise ValidationError({"phone": INVALID_PHONE})
    return number


def _check_phone_free(phone: PhoneNumber, *, exclude_pk: int | None = None) -> None:
    taken = Peer.objects.filter(phone=phone)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"phone": DUPLICATE_PHONE})


def _save_peer(peer: Peer) -> None:
    # The unique index is the last word when two supervisors save the same number at once.
    try:
        with transaction.atomic():
            peer.save()
    except IntegrityError as exc:
        raise ValidationError({"phone": DUPLICATE_PHONE}) from exc


@transaction.atomic
def create_peer(
    *,
    agency: Agency,
    first_name: str,
    last_name: str,
    phone: str | PhoneNumber,
    age_range: AgeRange | str,
    gender: Gender | str,
    languages: Iterable[Language] = (),
    actor: User | None = None,
) -> Peer:
    number = normalise_phone(phone)
    _check_phone_free(number)
    peer = Peer(
        agency=agency,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        phone=number,
        age_range=age_range,
        gender=gender,
    )
    peer.full_clean(exclude=["phone"], validate_unique=False)
    _save_peer(peer)
    peer.languages.set(list(languages))
    record_audit(actor=actor, action="peer.created", target=peer, detail=f"agency {agency.pk}")
    consent.request_consent(peer=peer, actor=actor)
    return peer


@transaction.atomic
def update_peer(
    *,
    peer: Peer,
    first_name: str,
    last_name: str,
    phone: str | PhoneNumber,
    age_range: AgeRange | str,
    gender: Gender | str,
    languages: Iterable[Language],
    actor: User | None = None,
) -> Peer:
    number = normalise_phone(phone)
    _check_phone_free(number, exclude_pk=peer.pk)
    peer = Peer.objects.select_for_update().get(pk=peer.pk)
    changed_number = peer.phone != number
    peer.first_name = first_name.strip()
    peer.last_name = last_name.strip()
    peer.phone = number
    peer.age_range = age_range
    peer.gender = gender
    if changed_number:
        # A new number has not been refused by the carrier yet, nor opted out.
        peer.phone_flagged_at = None
    peer.full_clean(exclude=["phone"], validate_unique=False)
    _save_peer(peer)
    peer.languages.set(list(languages))
    record_audit(
        actor=actor, action="peer.updated", target=peer, detail="new number" if changed_number else ""
    )
    if changed_number:
        # A new number has not agreed to anything: it is asked, and alerted only after JOIN.
        consent.request_consent(peer=peer, actor=actor)
    return peer


@transaction.atomic
def deactivate_peer(*, peer: Peer, actor: User | None = None) -> Peer:
    """An inactive peer stays on the roster (for reports) but is never alerted."""
    if Peer.objects.filter(pk=peer.pk, is_active=True).update(is_active=False):
        record_audit(actor=actor, action="peer.deactivated", target=peer)
    peer.is_active = False
    return peer


@transaction.atomic
def reactivate_peer(*, peer: Peer, actor: User | None = None) -> Peer:
    if Peer.objects.filter(pk=peer.pk, is_active=False).update(is_active=True):
        record_audit(actor=actor, action="peer.reactivated", target=peer)
    peer.is_active = True
    return peer


# --- credentials --------------------------------------------------------------------------


def _check_credential_dates(*, issued_on: dt.date, expires_on: dt.date | None) -> None:
    if expires_on is not None and expires_on <= issued_on:
        raise ValidationError({"expires_on": "The expiry date must be after the issue date."})


def _delete_file_on_commit(name: str, storage) -> None:
    if name:
        transaction.on_commit(lambda: storage.delete(name))


@transaction.atomic
def add_credential(
    *,
    peer: Peer,
    type: CredentialType,
    number: str,
    issued_on: dt.date,
    expires_on: dt.date | None = None,
    document: UploadedFile | None = None,
    actor: User | None = None,
) -> Credential:
    """A new credential always waits for Peer-RX staff to validate it."""
    _check_credential_dates(issued_on=issued_on, expires_on=expires_on)
    if document is not None:
        validate_credential_document(document)
    credential = Credential(
        peer=peer,
        type=type,
        number=number.strip(),
        issued_on=issued_on,
        expires_on=expires_on,
        status=Credential.Status.PENDING,
    )
    if document is not None:
        credential.document.save(document.name, document, save=False)
    credential.save()
    record_audit(actor=actor, action="credential.added", target=credential)
    return credential


@transaction.atomic
def update_credential(
    *,
    credential: Credential,
    type: CredentialType,
    number: str,
    issued_on: dt.date,
    expires_on: dt.date | None = None,
    document: UploadedFile | None = None,
    actor: User | None = None,
) -> Credential:
    """Change a credential; changing what was validated sends it back for validation."""
    _check_credential_dates(issued_on=issued_on, expires_on=expires_on)
    if document is not None:
        validate_credential_document(document)
    # Read the stored row: a bound ModelForm may have changed the instance in memory.
    credential = Credential.objects.select_for_update().select_related("type", "peer").get(pk=credential.pk)
    number = number.strip()
    substance_changed = (
        credential.type_id != type.pk
        or credential.number != number
        or credential.issued_on != issued_on
        or credential.expires_on != expires_on
        or document is not None
    )
    credential.type = type
    credential.number = number
    credential.issued_on = issued_on
    credential.expires_on = expires_on
    if document is not None:
        _delete_file_on_commit(credential.document.name, credential.document.storage)
        credential.document.save(document.name, document, save=False)
    detail = ""
    if substance_changed and credential.status != Credential.Status.PENDING:
        credential.status = Credential.Status.PENDING
        credential.validated_by = None
        credential.validated_at = None
        credential.review_note = ""
        detail = "changed after review: back to pending"
    credential.save()
    record_audit(actor=actor, action="credential.updated", target=credential, detail=detail)
    return credential


# What Peer-RX staff reviewed: a change to any of these sends a credential back for validation.
REVIEWED_FIELDS = ("type_id", "number", "issued_on", "expires_on")


@transaction.atomic
def save_edited_credential(*, credential: Credential, actor: User | None, where: str = "") -> Credential:
    """Save a credential edited field by field (the admin's forms), as ``update_credential`` would.

    A new one waits for validation; changing the type, number, dates or document of a
    validated or rejected one sends it back to awaiting validation, whoever edits it.
    """
    if credential.pk is None:
        credential.status = Credential.Status.PENDING
        credential.validated_by = None
        credential.validated_at = None
        credential.save()
        record_audit(actor=actor, action="credential.added", target=credential, detail=where)
        return credential
    stored = Credential.objects.select_for_update().get(pk=credential.pk)
    changed = [
        name.removesuffix("_id")
        for name in REVIEWED_FIELDS
        if getattr(stored, name) != getattr(credential, name)
    ]
    if stored.document.name != credential.document.name:
        changed.append("document")
    detail = where
    if changed and stored.status != Credential.Status.PENDING:
        credential.status = Credential.Status.PENDING
        credential.validated_by = None
        credential.validated_at = None
        credential.review_note = ""
        detail = f"{where}: {', '.join(changed)} changed after review: back to pending".strip(": ")
    credential.save()
    record_audit(actor=actor, action="credential.updated", target=credential, detail=detail)
    return credential


@transaction.atomic
def remove_credential(*, credential: Credential, actor: User | None = None) -> None:
    record_audit(actor=actor, action="credential.removed", target=credential, detail=credential.status)
    _delete_file_on_commit(credential.document.name, credential.document.storage)
    credential.delete()


def _review(
    *, credential: Credential, actor: User, status: str, note: str, now: dt.datetime | None
) -> Credential:
    if not (actor.is_authenticated and actor.is_staff):
        raise PermissionDenied("Only Peer-RX staff validate credentials.")
    now = now or timezone.now()
    credential = Credential.objects.select_for_update().select_related("type", "peer").get(pk=credential.pk)
    credential.status = status
    credential.validated_by = actor
    credential.validated_at = now
    credential.review_note = note[:300]
    credential.save(update_fields=["status", "validated_by", "validated_at", "review_note"])
    record_audit(actor=actor, action=f"credential.{status}", target=credential, detail=note, at=now)
    return credential


@transaction.atomic
def validate_credential(
    *, credential: Credential, actor: User, note: str = "", now: dt.datetime | None = None
) -> Credential:
    """Peer-RX staff confirm a credential; from now until it expires it counts for matching."""
    return _review(credential=credential, actor=actor, status=Credential.Status.VALIDATED, note=note, now=now)


@transaction.atomic
def reject_credential(
    *, credential: Credential, actor: User, note: str = "", now: dt.datetime | None = None
) -> Credential:
    return _review(credential=credential, actor=actor, status=Credential.Status.REJECTED, note=note, now=now)


# --- weekly hours ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowSpec:
    """One weekly window as typed in the week grid; ``end <= start`` runs past midnight."""

    weekday: int
    start: dt.time
    end: dt.time

    def label(self) -> str:
        day = AvailabilityWindow.Weekday(self.weekday).label
        return f"{day} {self.start:%H:%M}–{self.end:%H:%M}"


def _seconds(value: dt.time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def _week_intervals(spec: WindowSpec) -> list[tuple[int, int]]:
    """The window as half-open [begin, end) seconds of the week, split where the week wraps."""
    begin = spec.weekday * SECONDS_PER_DAY + _seconds(spec.start)
    length = (_seconds(spec.end) - _seconds(spec.start)) % SECONDS_PER_DAY or SECONDS_PER_DAY
    end = begin + length
    if end <= SECONDS_PER_WEEK:
        return [(begin, end)]
    return [(begin, SECONDS_PER_WEEK), (0, end - SECONDS_PER_WEEK)]


def validate_weekly_hours(windows: Sequence[WindowSpec]) -> None:
    """Refuse empty windows and windows that overlap (touching is fine), with clear messages."""
    errors = []
    for spec in windows:
        if not 0 <= spec.weekday <= 6:
            errors.append(f"{spec.weekday} is not a weekday.")
        elif spec.start == spec.end and spec.start != dt.time(0, 0):
            errors.append(
                f"{spec.label()} starts and ends at the same time: use 00:00–00:00 for the whole day."
            )
    if errors:
        raise ValidationError(errors)
    pieces = sorted(
        (begin, end, index) for index, spec in enumerate(windows) for begin, end in _week_intervals(spec)
    )
    overlaps: set[tuple[int, int]] = set()
    reach_end, reach_index = -1, -1
    for begin, end, index in pieces:
        if begin < reach_end and index != reach_index:
            overlaps.add(tuple(sorted((reach_index, index))))
        if end > reach_end:
            reach_end, reach_index = end, index
    if overlaps:
        raise ValidationError(
            [f"{windows[a].label()} overlaps {windows[b].label()}." for a, b in sorted(overlaps)]
        )


@transaction.atomic
def set_weekly_hours(
    *, peer: Peer, windows: Sequence[WindowSpec], actor: User | None = None
) -> list[AvailabilityWindow]:
    """Replace all of a peer's weekly windows at once (all or nothing)."""
    validate_weekly_hours(windows)
    Peer.objects.select_for_update().filter(pk=peer.pk).first()  # one editor at a time
    AvailabilityWindow.objects.filter(peer=peer).delete()
    created = AvailabilityWindow.objects.bulk_create(
        [AvailabilityWindow(peer=peer, weekday=w.weekday, start=w.start, end=w.end) for w in windows]
    )
    summary = "; ".join(w.label() for w in sorted(windows, key=lambda w: (w.weekday, w.start))) or "none"
    record_audit(actor=actor, action="peer.hours_set", target=peer, detail=summary)
    return created


# --- overrides ----------------------------------------------------------------------------------


@transaction.atomic
def set_availability_override(
    *,
    peer: Peer,
    is_available: bool,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str = "",
    source: AvailabilityOverride.Source | str,
    actor: User | None = None,
) -> AvailabilityOverride:
    """Available or not between two instants, whatever the weekly hours say.

    Used by supervisors in the portal and by the peer's SMS ``ON`` / ``OFF [hours]``; the
    newest covering override wins, so a later one simply takes over.
    """
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise ValueError("Override times must be aware datetimes.")
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The end must be after the start."})
    if source not in AvailabilityOverride.Source.values:
        raise ValueError(f"Unknown override source {source!r}")
    override = AvailabilityOverride.objects.create(
        peer=peer,
        is_available=is_available,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason[:200],
        source=source,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    if source == AvailabilityOverride.Source.SUPERVISOR:
        state = "available" if is_available else "unavailable"
        record_audit(
            actor=actor,
            action="override.set",
            target=peer,
            detail=f"{state} {starts_at.isoformat()} – {ends_at.isoformat()} {reason}".strip(),
        )
    return override


def _end(override: AvailabilityOverride, *, now: dt.datetime) -> bool:
    """End one override at ``now``: cut a running one short, delete one not started yet."""
    if override.ends_at <= now:
        return False
    if override.starts_at >= now:
        override.delete()
    else:
        AvailabilityOverride.objects.filter(pk=override.pk).update(ends_at=now)
        override.ends_at = now
    return True


@transaction.atomic
def end_override(*, override: AvailabilityOverride, now: dt.datetime, actor: User | None = None) -> bool:
    """Returns False when the override had already ended."""
    peer = override.peer
    ended = _end(override, now=now)
    if ended and actor is not None:
        record_audit(actor=actor, action="override.ended", target=peer, detail=str(override), at=now)
    return ended
