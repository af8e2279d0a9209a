"""Celery tasks for the SMS outbox: thin wrappers around ``sms.services``."""

from celery import shared_task

from sms import services


@shared_task(name="sms.tasks.send_message", ignore_result=True)
def send_message(message_id: int) -> None:
    services.deliver(message_id=message_id)


@shared_task(name="sms.tasks.send_batch", ignore_result=True)
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
