"""Celery tasks: thin wrappers that load by id and call a service.

The countdown tasks may run twice (Redis redelivers after its visibility timeout), late,
or never (worker killed): the services change nothing when called twice or late, and the
sweeper finishes whatever a lost task left behind.
"""

from celery import shared_task
from django.utils import timezone

from matching import services
from matching.models import Heartbeat
from peerrx.health import SWEEPER_HEARTBEAT
from sms.services import retry_unhandled_inbound, send_due_messages


@shared_task(name="matching.tasks.complete_selection", ignore_result=True)
def complete_selection(request_id: int) -> None:
    services.complete_selection(request_id=request_id, now=timezone.now())


@shared_task(name="matching.tasks.expire", ignore_result=True)
def expire(request_id: int) -> None:
    services.expire(request_id=request_id, now=timezone.now())


@shared_task(name="matching.tasks.sweep", ignore_result=True)
def sweep() -> None:
    """Periodic safety net run by beat: due requests, unsent texts, replies whose handling
    failed, and a heartbeat for /healthz."""
    now = timezone.now()
    services.complete_due_requests(now=now)
    send_due_messages(now=now)
    retry_unhandled_inbound(now=now)
    # Last, so a sweeper that keeps failing shows as stale on /healthz.
    Heartbeat.objects.update_or_create(name=SWEEPER_HEARTBEAT, defaults={"beat_at": timezone.now()})
