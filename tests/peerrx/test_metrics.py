"""/metrics: refused without the token, and every gauge read from the database at scrape time."""

import datetime as dt
import math

import pytest
from freezegun import freeze_time
from prometheus_client.parser import text_string_to_metric_families

from peer_requests import services as request_services
from peer_requests.models import SWEEPER_HEARTBEAT, Heartbeat
from reporting.models import RollupState
from sms import services as sms_services
from sms.models import OutboundMessage
from tests.world import T0, inbound, make_world, submit

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-0123456789"


@pytest.fixture
def token(settings):
    settings.PEERRX_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, *, at: dt.datetime) -> dict[tuple[str, tuple], float]:
    with freeze_time(at):
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


class TestAccess:
    def test_without_a_token_setting_there_is_no_endpoint(self, client, settings):
        settings.PEERRX_METRICS_TOKEN = ""
        assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404

    def test_an_anonymous_scrape_is_refused(self, client, token):
        response = client.get("/metrics")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")

    @pytest.mark.parametrize("header", ["Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
    def test_a_wrong_token_is_refused(self, client, token, header):
        assert client.get("/metrics", headers={"Authorization": header}).status_code in {401, 403}
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 403

    def test_a_signed_in_user_without_the_token_is_refused(self, client, token, django_user_model):
        client.force_login(django_user_model.objects.create_user(username="staff", is_staff=True))
        assert client.get("/metrics").status_code == 401

    def test_only_get(self, client, token):
        assert client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 405


def test_it_reads_every_metric_as_one_request_goes_through(client, token, django_assert_num_queries):
    world = make_world(peers=3)
    peer_request = submit(world, at=T0)  # three alerts queued (no worker here: they stay queued)
    first_alert = OutboundMessage.objects.filter(kind=OutboundMessage.Kind.ALERT).order_by("id").first()
    OutboundMessage.objects.filter(pk=first_alert.pk).update(status="failed", error_code="21610")
    yes = inbound(world.peers[1], f"YES {peer_request.code}", at=T0 + dt.timedelta(seconds=30))
    sms_services.handle_inbound_message(inbound_id=yes.pk, now=T0 + dt.timedelta(seconds=31))
    inbound(world.peers[2], "YES", at=T0 + dt.timedelta(seconds=120))  # stored, not yet handled
    Heartbeat.objects.create(name=SWEEPER_HEARTBEAT, beat_at=T0 + dt.timedelta(seconds=590))
    RollupState.objects.create(rolled_through=T0 - dt.timedelta(hours=1))

    at = peer_request.selection_due_at + dt.timedelta(seconds=45)  # the choice is 45 s late
    with django_assert_num_queries(7):
        metrics = scrape(client, at=at)

    assert metrics[("peerrx_requests", (("state", "collecting"),))] == 1
    assert metrics[("peerrx_requests", (("state", "assigned"),))] == 0
    assert (
        metrics[
            ("peerrx_texts_last_hour", (("error_code", "21610"), ("kind", "alert"), ("status", "failed")))
        ]
        == 1
    )
    assert (
        metrics[("peerrx_texts_last_hour", (("error_code", ""), ("kind", "alert"), ("status", "queued")))]
        == 2
    )
    assert (
        metrics[("peerrx_texts_last_hour", (("error_code", ""), ("kind", "other"), ("status", "queued")))]
        == 1
    )
    assert metrics[("peerrx_outbox_queued", ())] == 3  # two alerts and the answer to the YES
    assert metrics[("peerrx_outbox_oldest_queued_age_seconds", ())] == (at - T0).total_seconds()
    assert metrics[("peerrx_inbound_unhandled", ())] == 1
    assert metrics[("peerrx_inbound_oldest_unhandled_age_seconds", ())] == (at - T0).total_seconds() - 120
    assert metrics[("peerrx_deadlines_overdue", (("deadline", "choice"),))] == 1
    assert metrics[("peerrx_deadlines_overdue", (("deadline", "expiry"),))] == 0
    assert metrics[("peerrx_deadline_lateness_seconds", ())] == 45
    assert metrics[("peerrx_sweeper_heartbeat_age_seconds", ())] == (at - T0).total_seconds() - 590
    assert metrics[("peerrx_rollup_watermark_age_seconds", ())] == (at - T0).total_seconds() + 3600

    OutboundMessage.objects.update(status="sent")
    request_services.complete_selection(request_id=peer_request.pk, now=at)
    sms_services.handle_inbound_message(inbound_id=yes.pk + 1, now=at)
    later = scrape(client, at=at + dt.timedelta(seconds=1))
    assert later[("peerrx_requests", (("state", "collecting"),))] == 0
    assert later[("peerrx_requests", (("state", "assigned"),))] == 1
    assert later[("peerrx_deadline_lateness_seconds", ())] == 0
    assert later[("peerrx_deadlines_overdue", (("deadline", "choice"),))] == 0
    assert later[("peerrx_inbound_unhandled", ())] == 0
    assert later[("peerrx_inbound_oldest_unhandled_age_seconds", ())] == 0
    confirmations = OutboundMessage.objects.exclude(status="sent").count()
    assert confirmations >= 2  # the chosen peer's, the location's, the others' "filled"
    assert later[("peerrx_outbox_queued", ())] == confirmations


def test_before_the_sweeper_or_the_rollups_ever_ran_their_ages_are_infinite(client, token):
    metrics = scrape(client, at=T0)
    assert metrics[("peerrx_sweeper_heartbeat_age_seconds", ())] == math.inf
    assert metrics[("peerrx_rollup_watermark_age_seconds", ())] == math.inf
    assert metrics[("peerrx_outbox_oldest_queued_age_seconds", ())] == 0
    assert metrics[("peerrx_deadline_lateness_seconds", ())] == 0
