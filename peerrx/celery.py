"""The Celery application: one worker pool and its beats (two may run: see docs/operations.md)."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerrx.settings")

app = Celery("peerrx")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REPORT_ROLLUP_SECONDS = 300  # how far the report rollups may lag behind the settled hours


def _beat_schedule() -> dict:
    from django.conf import settings

    return {
        # Finishes any request whose deadline passed without its countdown task running
        # (worker killed, broker down at commit) and sends outbound SMS left unsent.
        "sweep-due-work": {
            "task": "peer_requests.tasks.sweep",
            "schedule": settings.PEERRX_SWEEP_SECONDS,
            "options": {"expires": settings.PEERRX_SWEEP_SECONDS * 2},
        },
        # The hourly per-agency figures the peer response reports add up.
        "refresh-report-rollups": {
            "task": "reporting.tasks.refresh_rollups",
            "schedule": REPORT_ROLLUP_SECONDS,
            "options": {"expires": REPORT_ROLLUP_SECONDS},
        },
    }


@app.on_after_configure.connect
def _install_beat_schedule(sender: Celery, **kwargs) -> None:
    sender.conf.beat_schedule = _beat_schedule()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(**kwargs) -> None:
    """Around every task, what Django does around every request: close the connections that
    are broken or older than ``DB_CONN_MAX_AGE`` (0: every one), and health-check the others
    before their next use. Celery's fix-up would close them all (``CELERY_DB_REUSE_MAX``)."""
    task = kwargs.get("task")
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
