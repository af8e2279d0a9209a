"""The Celery application: one worker pool and its beats (two may run: see docs/operations.md)."""

import os

from celery import Celery

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
