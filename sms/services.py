"""The SMS outbox and the webhooks' writes.

Every text is a row before any attempt to send it. Delivery claims the row with a conditional
update (queued → sending, only while it has no provider id), so a task that runs twice, a
sweep racing a task, or two workers never send one message twice. Errors the provider may get
over (20429, 429, 5xx, timeouts) go back to the queue with exponential backoff: a text with a
deadline (``valid_until``) is retried until the deadline, one without for
PEERRX_SMS_MAX_ATTEMPTS; the rest fail for good, and the refusal handler named in settings
decides what that means (``sms.handlers``).
Incoming texts are stored once and handed to the inbound handler named in settings.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from sms import handlers, ratelimit, sendpool, transport
from sms.handlers import EXPIRED_CODE, Handled, InboundText, Refusal
from sms.models import STATUS_RANK, InboundMessage, OutboundMessage, OutboundStatus

logger = logging.getLogger(__name__)

# Fan-out: messages per batch task. Concurrent sends per worker process come from
# PEERRX_SMS_SEND_CONCURRENCY (the batches running at once share one pool of that many
# threads, each with a database connection). At its default a whole batch goes out at once:
# at 100 ms per call, 1,000 alerts take 20 rounds of 50 (2 s) rather than 32 rounds of 32
# (3.1 s) of their 5 s budget; the pool never starts more threads than one batch holds.
SEND_BATCH_SIZE = 50
# Retry after base * 2**attempts seconds, capped, plus up to 10% jitter so a 20429 storm
# does not come back as one burst. A text without a deadline has PEERRX_SMS_MAX_ATTEMPTS
# spread over about 8½ minutes (cap 5 minutes); one with a deadline is retried until it and
# waits at most PEERRX_SMS_RETRY_CAP_SECONDS, so it leaves within that of the provider's
# recovery.
RETRY_BASE_SECONDS = 1.0
RETRY_MAX_DELAY_SECONDS = 300.0
RETRY_JITTER = 0.1
# Writes after a call to the provider (its id above all) are retried on a fresh connection
# this many times, about 15 s in all: a PostgreSQL restart or failover mid-send must not leave
# a text the provider took without its id, which the sweeper would send again.
RECORD_RETRIES = 5
RECORD_RETRY_BASE_SECONDS = 0.5
# Provider errors that mean "too fast", not "not answering" (texts still flow).
RATE_LIMIT_CODES = frozenset({"20429", "429"})
# A message claimed this long ago without a provider id lost its worker (killed, hard time
# limit): one call to the provider takes at most PEERRX_SMS_TIMEOUT_SECONDS.
STUCK_SENDING_AFTER = dt.timedelta(minutes=5)
# After the sweeper enqueues a message it leaves it alone this long, so a busy queue does not
# collect a copy of the same message every sweep.
SWEEP_REENQUEUE_AFTER = dt.timedelta(seconds=30)
SWEEP_LIMIT = 1000
# Under a rate limit, a slot this close is waited for in the worker; a later one is kept on
# the row and the message is re-enqueued for it.
RATE_INLINE_WAIT_SECONDS = 1.0
# Unhandled inbound texts (the handler raised, or its task was lost) are retried for this long.
INBOUND_RETRY_WINDOW = dt.timedelta(minutes=15)
# Twilio delivers at most 1,600 characters in one text: anything longer is cut to that.
MAX_BODY_CHARACTERS = 1600
INBOUND_RETRY_AFTER = dt.timedelta(seconds=30)

# Status callbacks carry a code but no text: enough words for the request page.
CALLBACK_ERROR_TEXT = {
    "21610": "The recipient has opted out (STOP).",
    "21211": "Invalid phone number.",
    "21614": "Not a mobile number.",
    "30003": "Unreachable handset (off or out of coverage).",
    "30004": "Message blocked by the recipient or carrier.",
    "30005": "Unknown or inactive number.",
    "30006": "Landline or unreachable carrier.",
    "30007": "Filtered by the carrier.",
    "30008": "Unknown delivery error.",
    "30036": "Not sent in time: the validity period passed.",
}

# Twilio's message statuses, as ours. Those below "sent" never move a message we already
# handed over, because status only moves forward.
PROVIDER_STATUS = {
    "accepted": OutboundStatus.SENDING,
    "scheduled": OutboundStatus.SENDING,
    "queued": OutboundStatus.SENDING,
    "sending": OutboundStatus.SENDING,
    "sent": OutboundStatus.SENT,
    "delivered": OutboundStatus.DELIVERED,
    "read": OutboundStatus.DELIVERED,
    "undelivered": OutboundStatus.UNDELIVERED,
    "failed": OutboundStatus.FAILED,
    "canceled": OutboundStatus.FAILED,
}

_sleep: Callable[[float], None] = time.sleep  # replaced in tests
# The inbound texts this thread is handling right now (a handler may handle earlier ones).
_handling: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "sms_handling", default=frozenset()
)


# --- Queueing ---------------------------------------------------------------------------------


def queue_message(
    *,
    to: str,
    body: str,
    kind: str,
    peer_id: int | None = None,
    location_id: int | None = None,
    alert_id: int | None = None,
    request_id: int | None = None,
    valid_until: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> OutboundMessage:
    """Save a text to send and enqueue its delivery once the surrounding transaction commits.

    The ids say what the text is about (for the admin, reports and the refusal handler); the
    outbox itself only needs ``to`` and ``body``. If the broker is down at commit time the row
    stays queued and the sweeper sends it.
    """
    now = now or timezone.now()
    message = OutboundMessage.objects.create(
        to=str(to),
        body=body,
        kind=kind,
        peer_id=peer_id,
        location_id=location_id,
        alert_id=alert_id,
        request_id=request_id,
        valid_until=valid_until,
        next_attempt_at=now,
        created_at=now,
    )
    transaction.on_commit(lambda: enqueue_delivery(message_id=message.pk))
    return message


def queue_bulk(*, messages: list[OutboundMessage], now: dt.datetime | None = None) -> list[OutboundMessage]:
    """Save many unsaved messages in one INSERT and enqueue their delivery on commit.

    Used for the alert fan-out: the ids go out in batch tasks, each sending its messages
    concurrently, so a thousand alerts are not sent one after another. Under
    PEERRX_SMS_MAX_PER_SECOND the messages reserve their send slots here, in list order, so
    they leave in that order whichever worker thread gets to each first (the caller lists
    the best-matched peers first).
    """
    now = now or timezone.now()
    limiter = ratelimit.limiter()
    slots_from = timezone.now()  # send slots run on the real clock
    for message in messages:
        message.to = str(message.to)
        message.created_at = message.created_at or now
        message.next_attempt_at = message.next_attempt_at or now
        if limiter is not None:
            message.rate_slot_at = slots_from + dt.timedelta(seconds=limiter.reserve())
            message.next_attempt_at = max(message.next_attempt_at, message.rate_slot_at)
    saved = OutboundMessage.objects.bulk_create(messages)
    ids = [m.pk for m in saved]
    if ids:
        transaction.on_commit(lambda: enqueue_batch(message_ids=ids))
    return saved


def enqueue_batch(*, message_ids: list[int]) -> None:
    from sms.tasks import send_batch

    for start in range(0, len(message_ids), SEND_BATCH_SIZE):
        chunk = list(message_ids[start : start + SEND_BATCH_SIZE])
        try:
            send_batch.delay(chunk)
        except Exception:  # broker down: the sweeper picks the queued rows up later
            logger.warning("Could not enqueue %d SMS; the sweeper will send them", len(chunk), exc_info=True)


def enqueue_delivery(*, message_id: int, countdown: float | None = None) -> None:
    from sms.tasks import send_message

    try:
        if countdown:
            send_message.apply_async((message_id,), countdown=countdown)
        else:
            send_message.delay(message_id)
    except Exception:  # broker down: the sweeper picks the queued row up later
        logger.warning("Could not enqueue SMS %s; the sweeper will send it", message_id, exc_info=True)


def send_due_messages(*, now: dt.datetime | None = None) -> int:
    """The sweeper's part: (re)enqueue queued messages that are due; returns how many.

    First, messages stuck in "sending" for minutes without a provider id (their worker died)
    go back to the queue. Then every queued message whose next attempt is due is enqueued,
    and pushed SWEEP_REENQUEUE_AFTER ahead so the next sweeps do not enqueue it again while
    its task waits in a busy queue.
    """
    now = now or timezone.now()
    stuck_ids = list(
        OutboundMessage.objects.filter(
            status=OutboundStatus.SENDING,
            provider_sid__isnull=True,
            status_updated_at__lt=now - STUCK_SENDING_AFTER,
        ).values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    if stuck_ids:
        requeued = OutboundMessage.objects.filter(
            pk__in=stuck_ids,
            status=OutboundStatus.SENDING,
            provider_sid__isnull=True,
            status_updated_at__lt=now - STUCK_SENDING_AFTER,
        ).update(status=OutboundStatus.QUEUED, next_attempt_at=now, status_updated_at=now)
        logger.warning("Requeued %d SMS stuck in 'sending'", requeued)

    due_ids = list(
        OutboundMessage.objects.filter(status=OutboundStatus.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    if not due_ids:
        return 0
    OutboundMessage.objects.filter(pk__in=due_ids, status=OutboundStatus.QUEUED).update(
        next_attempt_at=now + SWEEP_REENQUEUE_AFTER
    )
    enqueue_batch(message_ids=due_ids)
    return len(due_ids)


# --- Delivery ---------------------------------------------------------------------------------


def retry_delay(
    *, attempts: int, cap: float = RETRY_MAX_DELAY_SECONDS, rng: Callable[[], float] = random.random
) -> float:
    """Seconds before the next try after ``attempts`` failed ones: base * 2**attempts, capped, jittered."""
    base = min(cap, RETRY_BASE_SECONDS * (2 ** min(attempts, 32)))
    return base * (1 + RETRY_JITTER * rng())


def deliver(*, message_id: int, now: dt.datetime | None = None) -> str | None:
    """Send one queued message; returns its status afterwards, or None if it was not ours to send.

    Safe to call any number of times, from any number of workers: only the call that moves
    the row from queued to sending sends it, and a row with a provider id is never sent.
    """
    claimed = _claim(message_ids=[message_id], now=now or timezone.now())
    if not claimed:
        return None
    return _send_claimed(claimed[0], now=now)


def deliver_many(*, message_ids: list[int], concurrency: int | None = None) -> None:
    """Send many messages with up to ``concurrency`` (default PEERRX_SMS_SEND_CONCURRENCY) calls
    to the provider in flight at once.

    The whole batch is claimed in one UPDATE; the sends run on this process's pool of sending
    threads (``sms.sendpool``), each with its own database connection. On SQLite (one writer)
    or inside a transaction (the threads would wait for its row locks) they go one by one.
    """
    ids = list(message_ids)
    if not ids:
        return
    concurrency = min(concurrency or settings.PEERRX_SMS_SEND_CONCURRENCY, SEND_BATCH_SIZE)
    claimed = _claim(message_ids=ids, now=timezone.now())
    if min(concurrency, len(claimed)) <= 1 or connection.vendor == "sqlite" or connection.in_atomic_block:
        for message in claimed:
            _send_logged(message)
        return
    sendpool.pool(concurrency).run(_send_logged, claimed)


def _claim(*, message_ids: list[int], now: dt.datetime) -> list[OutboundMessage]:
    """Move queued rows without a provider id to "sending" and return those this call claimed.

    The token tells this call's rows from rows another worker claimed at the same moment.
    """
    token = uuid.uuid4().hex
    # One transaction: a connection lost between the UPDATE and the SELECT leaves the rows
    # queued, not "sending" with nobody sending them. (No savepoint inside a caller's transaction.)
    with transaction.atomic(savepoint=False):
        claimed = OutboundMessage.objects.filter(
            pk__in=message_ids, status=OutboundStatus.QUEUED, provider_sid__isnull=True
        ).update(
            status=OutboundStatus.SENDING,
            status_updated_at=now,
            attempts=F("attempts") + 1,
            claim_token=token,
        )
        if not claimed:
            return []
        return list(OutboundMessage.objects.filter(pk__in=message_ids, claim_token=token).order_by("pk"))


def _send_logged(message: OutboundMessage) -> None:
    try:
        # Connect before the send, not after it: a refused connection then leaves the text
        # unsent (the sweeper requeues it) rather than sent without its provider id recorded,
        # which the sweeper would send a second time.
        connection.ensure_connection()
        _send_claimed(message)
    except Exception:  # one bad row must not stop the batch; the sweeper requeues it if stuck
        logger.exception("Could not deliver SMS %s", message.pk)


def _send_claimed(message: OutboundMessage, *, now: dt.datetime | None = None) -> str:
    """Send a message this worker claimed (status "sending"), and record what happened."""
    clock_injected = now is not None
    now = now or timezone.now()
    # e.g. requeued again and again after crashes; a text with a deadline stops at its deadline.
    if message.valid_until is None and message.attempts > settings.PEERRX_SMS_MAX_ATTEMPTS:
        _fail(message, code=message.error_code or "attempts", text="Gave up: too many attempts.", now=now)
        return OutboundStatus.FAILED
    if _expired(message, now):
        _fail(message, code=EXPIRED_CODE, text="Expired before sending.", now=now, uncount_attempt=True)
        return OutboundStatus.FAILED

    limiter = ratelimit.limiter()
    if limiter is not None:
        if message.rate_slot_at is not None:
            wait = (message.rate_slot_at - now).total_seconds()
        else:
            wait = limiter.reserve()
        if wait > RATE_INLINE_WAIT_SECONDS:
            _defer_for_rate(message, slot=now + dt.timedelta(seconds=wait), now=now)
            return OutboundStatus.QUEUED
        if wait > 0:
            _sleep(wait)
            if not clock_injected:
                now = timezone.now()

    outgoing = transport.Outgoing(
        message_id=message.pk,
        to=message.to,
        body=message.body,
        validity_seconds=_validity_seconds(message, now),
    )
    try:
        provider_sid = transport.send(outgoing)
    except transport.SendError as exc:
        return _recording(_record_send_error, message, exc, now=now)
    except Exception as exc:  # a bug or an unexpected library error: retry rather than stay "sending"
        logger.exception("Unexpected error sending SMS %s", message.pk)
        error = transport.SendError(
            code="error", message=f"{type(exc).__name__}: {exc}"[:300], retryable=True
        )
        return _recording(_record_send_error, message, error, now=now)
    return _recording(_record_sent, message, provider_sid=provider_sid, now=now)


def _recording(write: Callable[..., str], message: OutboundMessage, *args, **kwargs) -> str:
    """Run a write that records what the provider did, again on a fresh connection if the
    database went away (restart, failover, a terminated backend) meanwhile.

    Inside a transaction (tests, a caller's atomic block) the connection cannot be replaced:
    the error is raised at once.
    """
    for attempt in range(RECORD_RETRIES + 1):
        try:
            return write(message, *args, **kwargs)
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or attempt == RECORD_RETRIES:
                raise
            logger.warning("SMS %s: database lost while recording the send; retrying", message.pk)
            connection.close()
            _sleep(RECORD_RETRY_BASE_SECONDS * 2**attempt)
    raise AssertionError("unreachable")


def _record_sent(message: OutboundMessage, *, provider_sid: str, now: dt.datetime) -> str:
    # Not conditional on "sending": if the sweeper requeued the row meanwhile, the provider id
    # must still be stored, so the message is never sent again. A status callback that
    # overtook this save (Twilio calls as soon as it accepts) already moved the status on:
    # "sent" only replaces what is behind it.
    OutboundMessage.objects.filter(pk=message.pk, provider_sid__isnull=True).update(
        status=Case(
            When(status__in=[OutboundStatus.QUEUED, OutboundStatus.SENDING], then=Value(OutboundStatus.SENT)),
            default=F("status"),
        ),
        provider_sid=provider_sid,
        sent_at=now,
        status_updated_at=now,
        rate_slot_at=None,
        error_code="",
        error_message="",
    )
    return OutboundStatus.SENT


def _expired(message: OutboundMessage, now: dt.datetime) -> bool:
    # Twilio's ValidityPeriod is whole seconds, at least 1: less than that left is too late.
    return message.valid_until is not None and (message.valid_until - now).total_seconds() < 1


def _validity_seconds(message: OutboundMessage, now: dt.datetime) -> int | None:
    if message.valid_until is None:
        return None
    return max(1, min(transport.MAX_VALIDITY_SECONDS, int((message.valid_until - now).total_seconds())))


def _defer_for_rate(message: OutboundMessage, *, slot: dt.datetime, now: dt.datetime) -> None:
    """Keep the reserved slot on the row and come back for it; waiting is not an attempt."""
    OutboundMessage.objects.filter(pk=message.pk, status=OutboundStatus.SENDING).update(
        status=OutboundStatus.QUEUED,
        next_attempt_at=slot,
        rate_slot_at=slot,
        attempts=F("attempts") - 1,
        status_updated_at=now,
    )
    transaction.on_commit(
        lambda: enqueue_delivery(message_id=message.pk, countdown=(slot - now).total_seconds())
    )


def _record_send_error(message: OutboundMessage, exc: transport.SendError, *, now: dt.datetime) -> str:
    delay = _retry_in(message, exc, now=now)
    if delay is not None:
        logger.info("SMS %s: %s; retry %d in %.1fs", message.pk, exc.code, message.attempts, delay)
        changes: dict = {
            "status": OutboundStatus.QUEUED,
            "next_attempt_at": now + dt.timedelta(seconds=delay),
            "rate_slot_at": None,
            "error_code": exc.code[:16],
            "error_message": exc.message[:300],
            "status_updated_at": now,
        }
        if exc.code not in RATE_LIMIT_CODES:
            changes["first_error_at"] = Coalesce(F("first_error_at"), Value(now))
        OutboundMessage.objects.filter(
            pk=message.pk, status=OutboundStatus.SENDING, provider_sid__isnull=True
        ).update(**changes)
        transaction.on_commit(lambda: enqueue_delivery(message_id=message.pk, countdown=delay))
        return OutboundStatus.QUEUED
    text = exc.message
    if exc.retryable:
        text = f"Gave up after {message.attempts} attempts: {exc.message}"
        if message.valid_until is not None:
            text = f"Gave up at its deadline after {message.attempts} attempts: {exc.message}"
    _fail(message, code=exc.code, text=text, now=now)
    return OutboundStatus.FAILED


def _retry_in(message: OutboundMessage, exc: transport.SendError, *, now: dt.datetime) -> float | None:
    """Seconds until the next try after this error, or None to give up.

    A text with a deadline is tried until it, however many attempts that takes, at most
    PEERRX_SMS_RETRY_CAP_SECONDS apart (and once more just before the deadline); one without
    has PEERRX_SMS_MAX_ATTEMPTS.
    """
    if not exc.retryable:
        return None
    if message.valid_until is None:
        if message.attempts >= settings.PEERRX_SMS_MAX_ATTEMPTS:
            return None
        return retry_delay(attempts=message.attempts)
    # The last try leaves with at least a second of validity (Twilio's minimum).
    left = (message.valid_until - now).total_seconds() - 1
    if left <= 0:
        return None
    return min(left, retry_delay(attempts=message.attempts, cap=settings.PEERRX_SMS_RETRY_CAP_SECONDS))


@transaction.atomic
def _fail(
    message: OutboundMessage, *, code: str, text: str, now: dt.datetime, uncount_attempt: bool = False
) -> None:
    changes: dict = {
        "status": OutboundStatus.FAILED,
        "error_code": code[:16],
        "error_message": text[:300],
        "status_updated_at": now,
        "rate_slot_at": None,
    }
    if uncount_attempt:
        changes["attempts"] = F("attempts") - 1
    updated = OutboundMessage.objects.filter(pk=message.pk, status=OutboundStatus.SENDING).update(**changes)
    if updated:
        logger.warning("SMS %s to %s failed: %s %s", message.pk, message.to, code, text)
        _after_failure(message, code=code, text=text, now=now)


def _after_failure(message: OutboundMessage, *, code: str, text: str, now: dt.datetime) -> None:
    """Tell the refusal handler named in settings; it decides what a failed text means."""
    handlers.refusal_handler()(
        refusal=Refusal(
            message_id=message.pk,
            to=message.to,
            kind=message.kind,
            kind_label=message.get_kind_display(),
            code=code,
            text=text,
            at=now,
            peer_id=message.peer_id,
            request_id=message.request_id,
        )
    )


# --- Delivery status callbacks ------------------------------------------------------------------


def record_delivery_status(
    *, message_id: int, status: str, error_code: str = "", now: dt.datetime | None = None
) -> bool:
    """Apply a provider status to our message ``message_id``; True when it moved the status.

    The callback URL names the row, so a callback that overtakes the save of the provider id
    (Twilio calls as soon as it accepts the message) still finds it. Status only moves forward
    (``STATUS_RANK``): a duplicate, late or out-of-order callback matches no row in the
    conditional update and changes nothing. An unknown id changes nothing.
    """
    return _apply_status(
        OutboundMessage.objects.filter(pk=message_id), status=status, error_code=error_code, now=now
    )


def record_delivery_status_for_sid(
    *, provider_sid: str, status: str, error_code: str = "", now: dt.datetime | None = None
) -> bool:
    """The same, found by provider id: for callbacks to the old ``/sms/status/`` URL, which
    messages sent before the callback URL carried their id still name. Remove next release."""
    return _apply_status(
        OutboundMessage.objects.filter(provider_sid=provider_sid),
        status=status,
        error_code=error_code,
        now=now,
    )


def _apply_status(
    rows: QuerySet[OutboundMessage], *, status: str, error_code: str, now: dt.datetime | None
) -> bool:
    now = now or timezone.now()
    new_status = PROVIDER_STATUS.get(status.strip().lower())
    if new_status is None:
        return False
    behind = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[new_status]]
    code = error_code.strip()[:16]
    changes: dict = {"status": new_status, "status_updated_at": now}
    if code:
        changes["error_code"] = code
        changes["error_message"] = CALLBACK_ERROR_TEXT.get(code, f"Provider error {code}.")
    with transaction.atomic():
        message = rows.select_for_update().first()
        if message is None:
            return False
        updated = OutboundMessage.objects.filter(pk=message.pk, status__in=behind).update(**changes)
        if updated and new_status in (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED):
            _after_failure(
                message,
                code=code or new_status,
                text=CALLBACK_ERROR_TEXT.get(code, f"Not delivered ({status}).") if code else f"{status}.",
                now=now,
            )
    return bool(updated)


# --- Inbound texts --------------------------------------------------------------------------------


def receive_inbound(
    *, message_sid: str, from_number: str, body: str, to_number: str = "", now: dt.datetime | None = None
) -> tuple[InboundMessage, bool]:
    """Store an incoming text once per MessageSid and hand it to a worker; returns (message, created).

    The webhook answers as soon as the row is stored; ``handle_inbound_message`` runs the
    inbound handler in a task enqueued on commit. Handling inside the
    request made the webhook about 25 times the CPU of an empty one (measured). A duplicate
    delivery of the same MessageSid stores nothing and acts on nothing. A text whose task is
    lost (broker down, worker killed) or whose handler fails stays unhandled, and the
    sweeper's ``retry_unhandled_inbound`` handles it.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            inbound = InboundMessage.objects.create(
                message_sid=message_sid,
                from_number=from_number,
                to_number=to_number,
                body=body,
                received_at=now,  # the handler finds the peer (a query and a phone number parse)
            )
    except IntegrityError:
        existing = InboundMessage.objects.filter(message_sid=message_sid).first()
        if existing is None:  # not the MessageSid constraint after all
            raise
        return existing, False
    inbound_id = inbound.pk
    transaction.on_commit(lambda: enqueue_inbound(inbound_id=inbound_id))
    return inbound, True


def enqueue_inbound(*, inbound_id: int) -> None:
    from sms.tasks import handle_inbound

    try:
        handle_inbound.delay(inbound_id)
    except Exception:  # broker down: the sweeper handles the stored text later
        logger.warning(
            "Could not enqueue inbound SMS %s; the sweeper will handle it", inbound_id, exc_info=True
        )


def handle_inbound_message(
    *, inbound_id: int, now: dt.datetime | None = None, skip_locked: bool = False, send_answer: bool = False
) -> str | None:
    """Run the inbound handler on a stored, unhandled text and queue its answer; returns the answer.

    The row is locked and marked handled here, once: the handler's changes, the mark and the
    queued answer commit together or not at all, so a text handled twice (a redelivered task,
    the sweeper racing a worker) acts once. ``skip_locked``: return at once if another worker
    is handling the text right now. ``send_answer`` (the worker's task): once committed, send
    the answer from here rather than after every other task waiting in the queue; its queued
    delivery task then finds it sent and does nothing (``deliver`` sends a message once).
    """
    now = now or timezone.now()
    token = _handling.set(_handling.get() | {inbound_id})
    try:
        with transaction.atomic():
            inbound = (
                InboundMessage.objects.select_for_update(skip_locked=skip_locked)
                .filter(pk=inbound_id)
                .first()
            )
            if inbound is None or inbound.handled_at is not None:
                return None
            handled: Handled = handlers.inbound_handler()(
                text=InboundText(
                    inbound_id=inbound.pk,
                    from_number=inbound.from_number,
                    body=inbound.body,
                    received_at=inbound.received_at,
                    now=now,
                )
            )
            InboundMessage.objects.filter(pk=inbound_id).update(
                handled_at=now, outcome=str(handled.outcome)[:64], peer_id=handled.peer_id
            )
            if handled.reply:
                answer = queue_message(
                    to=inbound.from_number,
                    body=handled.reply,
                    kind=OutboundMessage.Kind.REPLY,
                    peer_id=handled.peer_id,
                    now=now,
                )
                if send_answer:
                    transaction.on_commit(lambda: _send_answer(message_id=answer.pk))
            return handled.reply
    except Exception:
        logger.exception("Could not handle inbound SMS %s; it will be retried", inbound_id)
        InboundMessage.objects.filter(pk=inbound_id, handled_at__isnull=True).update(outcome="error")
        return None
    finally:
        _handling.reset(token)


def _send_answer(*, message_id: int) -> None:
    try:
        deliver(message_id=message_id)
    except Exception:  # the queued delivery task, or the sweeper, sends it
        logger.exception("Could not send the answer %s at once; its queued task will", message_id)


def handle_earlier_texts(
    *, from_numbers: list[str], received_before: dt.datetime, now: dt.datetime | None = None
) -> int:
    """Handle, oldest first, the texts from these numbers that arrived before ``received_before``
    and are still waiting for a worker; returns how many this call tried.

    For a caller that must see replies in the order they arrived whatever the queue's lag (the
    choice at its deadline, the first YES of an open request). A text another worker is
    handling at this moment is skipped: waiting for it could deadlock on the caller's locks;
    so are the texts this thread is in the middle of handling (the caller may be one of them).
    """
    if not from_numbers:
        return 0
    waiting = (
        InboundMessage.objects.filter(
            from_number__in=from_numbers, handled_at__isnull=True, received_at__lt=received_before
        )
        .exclude(pk__in=_handling.get())
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
    )
    ids = list(waiting[:SWEEP_LIMIT])
    for inbound_id in ids:
        handle_inbound_message(inbound_id=inbound_id, now=now, skip_locked=True)
    return len(ids)


def retry_unhandled_inbound(*, now: dt.datetime | None = None) -> int:
    """For the sweeper: handle again recent texts whose handler failed; returns how many were tried."""
    now = now or timezone.now()
    ids = list(
        InboundMessage.objects.filter(
            handled_at__isnull=True,
            received_at__gte=now - INBOUND_RETRY_WINDOW,
            received_at__lte=now - INBOUND_RETRY_AFTER,
        ).values_list("pk", flat=True)[:100]
    )
    for inbound_id in ids:
        handle_inbound_message(inbound_id=inbound_id, now=now)
    return len(ids)


# --- Webhooks ---------------------------------------------------------------------------------------


class WebhookError(Exception):
    """A webhook refused: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _field(params: Mapping[str, str], name: str, *, max_length: int, required: bool = True) -> str:
    value = (params.get(name) or "").replace("\x00", "").strip()
    if required and not value:
        raise WebhookError(400, f"{name} is required.")
    if len(value) > max_length:
        raise WebhookError(400, f"{name} is too long.")
    return value


def _check_signature(*, url: str, params: Mapping[str, str], signature: str | None) -> None:
    if not transport.is_valid_signature(url=url, params=params, signature=signature):
        raise WebhookError(403, "Invalid or missing X-Twilio-Signature.")


def process_inbound_webhook(
    *, url: str, params: Mapping[str, str], signature: str | None, now: dt.datetime | None = None
) -> tuple[InboundMessage, bool]:
    """``POST /sms/inbound/`` after transport concerns: signature, fields, then ``receive_inbound``.

    ``url`` is the public URL Twilio called (what it signed). Raises WebhookError (403 for a
    bad or missing signature, 400 for a missing field) before anything is stored.
    """
    _check_signature(url=url, params=params, signature=signature)
    message_sid = _field(params, "MessageSid", max_length=64)
    from_number = _field(params, "From", max_length=32)
    to_number = _field(params, "To", max_length=32, required=False)
    body = (params.get("Body") or "").replace("\x00", "")
    if len(body) > MAX_BODY_CHARACTERS:
        logger.warning(
            "Inbound SMS %s: %d characters, stored cut to %d", message_sid, len(body), MAX_BODY_CHARACTERS
        )
        body = body[:MAX_BODY_CHARACTERS]
    return receive_inbound(
        message_sid=message_sid, from_number=from_number, to_number=to_number, body=body, now=now
    )


def process_status_webhook(
    *,
    url: str,
    params: Mapping[str, str],
    signature: str | None,
    message_id: int | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """``POST /sms/status/<message_id>/``: signature, fields, then ``record_delivery_status``.

    Without ``message_id`` (the old ``/sms/status/`` URL) the message is found by its
    provider id.
    """
    _check_signature(url=url, params=params, signature=signature)
    message_sid = _field(params, "MessageSid", max_length=64)
    status = _field(params, "MessageStatus", max_length=32, required=False) or _field(
        params, "SmsStatus", max_length=32, required=False
    )
    if not status:
        raise WebhookError(400, "MessageStatus is required.")
    error_code = _field(params, "ErrorCode", max_length=16, required=False)
    if message_id is None:
        return record_delivery_status_for_sid(
            provider_sid=message_sid, status=status, error_code=error_code, now=now
        )
    return record_delivery_status(message_id=message_id, status=status, error_code=error_code, now=now)
