import json
from datetime import timedelta

import pytest
from django.utils import timezone

from peer_requests.models import SWEEPER_HEARTBEAT, Heartbeat

pytestmark = pytest.mark.django_db


def test_it_is_healthy_with_a_fresh_sweeper_heartbeat(client):
    Heartbeat.objects.create(name=SWEEPER_HEARTBEAT, beat_at=timezone.now())
    response = client.get("/healthz")
    body = json.loads(response.content)
    assert response.status_code == 200, body
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True


def test_it_is_unhealthy_when_the_sweeper_is_stale(client):
    Heartbeat.objects.create(name=SWEEPER_HEARTBEAT, beat_at=timezone.now() - timedelta(seconds=61))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["sweeper"]["ok"] is False


def test_it_is_unhealthy_when_the_sweeper_never_ran(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "never run" in json.loads(response.content)["checks"]["sweeper"]["error"]
