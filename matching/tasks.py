"""Celery tasks: thin wrappers that load by id and call a service."""

from celery import shared_task
from django.utils import timezone

from matching.models import Heartbeat
from peerrx.health import SWEEPER_HEARTBEAT


@shared_task(name="matching.tasks.sweep", ignore_result=True)
def sweep() -> None:
    """Periodic safety net run by beat; records a heartbeat for /healthz."""
    Heartbeat.objects.update_or_create(name=SWEEPER_HEARTBEAT, defaults={"beat_at": timezone.now()})
