"""The SMS outbox: every text is a row before any attempt to send it."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from sms.models import OutboundMessage, OutboundStatus

logger = logging.getLogger(__name__)


def queue_message(
    *,
    to: str,
    body: str,
    kind: str,
    peer=None,
    location=None,
    alert=None,
    request=None,
    valid_until: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> OutboundMessage:
    """Save a text to send and enqueue its delivery once the surrounding transaction commits.

    If the broker is down at commit time the row stays queued and the sweeper sends it.
    """
    now = now or timezone.now()
    message = OutboundMessage.objects.create(
        to=str(to),
        body=body,
        kind=kind,
        peer=peer,
        location=location,
        alert=alert,
        request=request,
        valid_until=valid_until,
        next_attempt_at=now,
        created_at=now,
    )
    transaction.on_commit(lambda: enqueue_delivery(message_id=message.pk))
    return message


def queue_bulk(*, messages: list[OutboundMessage], now: dt.datetime | None = None) -> list[OutboundMessage]:
    """Save many unsaved messages in one INSERT and enqueue their delivery on commit.

    Used for the alert fan-out, where one task per message would flood the broker.
    """
    now = now or timezone.now()
    for message in messages:
        message.created_at = message.created_at or now
        message.next_attempt_at = message.next_attempt_at or now
    saved = OutboundMessage.objects.bulk_create(messages)
    ids = [m.pk for m in saved]
    transaction.on_commit(lambda: enqueue_batch(message_ids=ids))
    return saved


def enqueue_batch(*, message_ids: list[int]) -> None:
    for message_id in message_ids:
        enqueue_delivery(message_id=message_id)


def enqueue_delivery(*, message_id: int) -> None:
    from sms.tasks import send_message

    try:
        send_message.delay(message_id)
    except Exception:  # broker down: the sweeper picks the queued row up later
        logger.warning("Could not enqueue SMS %s; the sweeper will send it", message_id, exc_info=True)


def deliver(*, message_id: int, now: dt.datetime | None = None) -> None:
    """Send one queued message (console backend: log it and mark it sent)."""
    now = now or timezone.now()
    claimed = OutboundMessage.objects.filter(pk=message_id, status=OutboundStatus.QUEUED).update(
        status=OutboundStatus.SENDING, attempts=1
    )
    if not claimed:
        return
    message = OutboundMessage.objects.get(pk=message_id)
    logger.info("SMS to %s: %s", message.to, message.body)
    OutboundMessage.objects.filter(pk=message_id).update(
        status=OutboundStatus.SENT, sent_at=now, status_updated_at=now
    )


def send_due_messages(*, now: dt.datetime | None = None) -> int:
    """Enqueue every queued message whose next attempt is due; returns how many."""
    now = now or timezone.now()
    due = list(
        OutboundMessage.objects.filter(status=OutboundStatus.QUEUED, next_attempt_at__lte=now).values_list(
            "pk", flat=True
        )[:500]
    )
    for message_id in due:
        enqueue_delivery(message_id=message_id)
    return len(due)
