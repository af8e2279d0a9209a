"""Celery tasks of the reports: a thin wrapper the beat calls."""

from celery import shared_task

from reporting import rollups


@shared_task(name="reporting.tasks.refresh_rollups", ignore_result=True)
def refresh_rollups() -> None:
    rollups.refresh()
