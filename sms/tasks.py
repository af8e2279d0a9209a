"""Celery tasks for the SMS outbox: thin wrappers around ``sms.services``."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from sms import services

# A delivery task whose database connection went away (a restart, a failover) before it
# claimed its messages is tried again within seconds on a fresh connection, instead of leaving
# them to the sweeper's next pass over them (SWEEP_REENQUEUE_AFTER later). Safe: the claim
# sends each message once, however often it runs.
DATABASE_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 1,
    "retry_backoff_max": 8,
    "max_retries": 6,
}


@shared_task(name="sms.tasks.send_message", ignore_result=True, **DATABASE_RETRY)
def send_message(message_id: int) -> None:
    services.deliver(message_id=message_id)


@shared_task(name="sms.tasks.send_batch", ignore_result=True, **DATABASE_RETRY)
def send_batch(message_ids: list[int]) -> None:
    """A slice of a fan-out, sent concurrently (see ``services.deliver_many``)."""
    services.deliver_many(message_ids=message_ids)


@shared_task(name="sms.tasks.handle_inbound", ignore_result=True)
def handle_inbound(inbound_id: int) -> None:
    """A stored incoming text: run the inbound handler named in settings and queue its answer."""
    services.handle_inbound_message(inbound_id=inbound_id, send_answer=True)


@shared_task(name="sms.tasks.apply_status", ignore_result=True)
def apply_status(provider_sid: str, status: str, error_code: str, attempt: int) -> None:
    """Retries of early status callbacks that a previous release queued: applied once, by
    provider id. Callbacks now name their message, so nothing queues this. Remove next release."""
    services.record_delivery_status_for_sid(provider_sid=provider_sid, status=status, error_code=error_code)
