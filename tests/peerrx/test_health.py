import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from peer_requests.models import SWEEPER_HEARTBEAT, Heartbeat
from peerrx import health

pytestmark = pytest.mark.django_db


def test_it_is_healthy_with_a_fresh_sweeper_heartbeat(client):
    Heartbeat.objects.create(name=SWEEPER_HEARTBEAT, beat_at=timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert json.loads(response.content) == {"ok": True}


def test_it_is_unhealthy_when_the_sweeper_is_stale(client):
    Heartbeat.objects.create(name=SWEEPER_HEARTBEAT, beat_at=timezone.now() - timedelta(seconds=61))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content) == {"ok": False}


def test_it_is_unhealthy_when_the_sweeper_never_ran(client, caplog):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content) == {"ok": False}
    assert "the sweeper has never run" in caplog.text


def test_it_keeps_the_errors_out_of_the_public_answer_and_in_the_log(client, caplog, monkeypatch):
    """A database error names hosts and users: the log has it, the answer does not."""
    Heartbeat.objects.create(name=SWEEPER_HEARTBEAT, beat_at=timezone.now())

    def failing_database() -> dict:
        return {
            "ok": False,
            "error": 'connection to server at "db.internal" (10.0.0.5), user "peerrx" failed',
        }

    monkeypatch.setattr(health, "_database", failing_database)
    with caplog.at_level(logging.WARNING, logger="peerrx.health"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content) == {"ok": False}
    assert "db.internal" not in response.content.decode()
    assert "db.internal" in caplog.text
