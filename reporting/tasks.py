"""Celery tasks of the reports: a thin wrapper the beat calls."""

from celery import shared_task

from core.locks import advisory_lock
from reporting import rollups

ROLLUP_LOCK = "peerrx.report_rollups"


@shared_task(name="reporting.tasks.refresh_rollups", ignore_result=True)
def refresh_rollups() -> None:
    """Skipped while another beat's copy runs (``core.locks``); ``refresh`` is serialised by a
    row lock and safe twice anyway."""
    with advisory_lock(ROLLUP_LOCK) as held:
        if held:
            rollups.refresh()
