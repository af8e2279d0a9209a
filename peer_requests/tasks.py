"""Celery tasks of a request's life: thin wrappers that load by id and call a service.

The countdown tasks may run twice (Redis redelivers after its visibility timeout), late,
or never (worker killed): the services change nothing when called twice or late, and the
sweeper finishes whatever a lost task left behind.
"""

import logging

from celery import shared_task
from django.utils import timezone

from core.locks import advisory_lock
from peer_requests import services
from peer_requests.models import SWEEPER_HEARTBEAT, Heartbeat
from sms.services import retry_unhandled_inbound, send_due_messages

logger = logging.getLogger(__name__)
SWEEP_LOCK = "peerrx.sweep"


def complete_selection_now(request_id: int) -> None:
    services.complete_selection(request_id=request_id, now=timezone.now())


def expire_now(request_id: int) -> None:
    services.expire(request_id=request_id, now=timezone.now())


def sweep_now() -> None:
    """Periodic work run by beat: due requests, encounters closed automatically or watched for an
    acknowledgement and a late arrival, peers who became
    available for live requests, reminders, unsent texts, replies whose handling failed, and a
    heartbeat for /healthz.

    With two beats, two sweeps can start at once: one runs, the other finds the advisory lock
    taken and skips (``core.locks``); every step would also be safe run twice.
    """
    with advisory_lock(SWEEP_LOCK) as held:
        if not held:
            logger.info("Another sweep is running; this one is skipped")
            return
        now = timezone.now()
        services.complete_due_requests(now=now)
        services.end_assignments(now=now)
        services.watch_encounters(now=now)
        services.alert_late_joiners(now=now)
        services.send_reminders(now=now)
        send_due_messages(now=now)
        retry_unhandled_inbound(now=now)
        # Last, so a sweeper that keeps failing shows as stale on /healthz.
        Heartbeat.objects.update_or_create(name=SWEEPER_HEARTBEAT, defaults={"beat_at": timezone.now()})


complete_selection = shared_task(name="peer_requests.tasks.complete_selection", ignore_result=True)(
    complete_selection_now
)
expire = shared_task(name="peer_requests.tasks.expire", ignore_result=True)(expire_now)
sweep = shared_task(name="peer_requests.tasks.sweep", ignore_result=True)(sweep_now)

# The names these tasks had before they moved from matching/. Countdown tasks already in the
# broker when a release deploys (a choice or expiry up to PEERRX_EXPIRY_SECONDS ahead) still
# find their code. Remove in the release after next.
LEGACY_NAMES = {
    "matching.tasks.complete_selection": complete_selection_now,
    "matching.tasks.expire": expire_now,
    "matching.tasks.sweep": sweep_now,
}
legacy_tasks = [shared_task(name=name, ignore_result=True)(fn) for name, fn in LEGACY_NAMES.items()]
