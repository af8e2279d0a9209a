"""Health of the parts a request depends on: database, broker, and the sweeper's heartbeat.

The public answer is ok or not ok; what failed (a database or Redis error names hosts, users and
versions) goes only to the log.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection
from django.utils import timezone

SWEEPER_STALE_AFTER = timedelta(seconds=60)
logger = logging.getLogger(__name__)


@dataclass
class HealthReport:
    checks: dict[str, dict] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(item["ok"] for item in self.checks.values())

    def as_json(self) -> str:
        """Every check with its error: for the log, never for an HTTP answer."""
        return json.dumps({"ok": self.ok, "checks": self.checks}, sort_keys=True)

    def public_json(self) -> str:
        """Ok or not ok, and nothing about why."""
        return json.dumps({"ok": self.ok})

    def log_failures(self) -> None:
        if not self.ok:
            logger.warning("health check failed: %s", self.as_json())


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # any failure means "not healthy", with the reason shown
        return {"ok": False, "error": str(exc)[:200]}


def _broker() -> dict:
    from peerrx.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": str(exc)[:200]}


def _sweeper(now) -> dict:
    from peer_requests.models import SWEEPER_HEARTBEAT, Heartbeat

    try:
        beat = Heartbeat.objects.filter(name=SWEEPER_HEARTBEAT).values_list("beat_at", flat=True).first()
    except Exception as exc:
        return {"ok": False, "error": str(exc)[:200]}
    if beat is None:
        return {"ok": False, "error": "the sweeper has never run"}
    age = (now - beat).total_seconds()
    return {"ok": age <= SWEEPER_STALE_AFTER.total_seconds(), "last_beat_seconds_ago": round(age, 1)}


def check(now=None) -> HealthReport:
    now = now or timezone.now()
    return HealthReport(checks={"database": _database(), "broker": _broker(), "sweeper": _sweeper(now)})
