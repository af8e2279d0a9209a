"""The request page in a real browser: submitted through the form, updated without a reload."""

import datetime as dt

import pytest
from django.utils import timezone

from peer_requests import services
from peer_requests.models import PeerRequest
from tests.browser.conftest import (  # noqa: F401 - fixtures used by name
    _orm_beside_playwright,
    assert_every_field_labelled,
    browser,
    log_in,
    page,
    screenshot,
)
from tests.locations.factories import LocationMembershipFactory
from tests.world import make_world, seed_reference_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_nurse_requests_a_peer_and_sees_who_is_coming_without_reloading(page, screenshot):  # noqa: F811
    seed_reference_data()
    world = make_world(peers=2)
    LocationMembershipFactory(location=world.location, user__username="nurse")
    log_in(page, "nurse")

    page.goto("/requests/new/")
    assert_every_field_labelled(page)
    assert "There is no field for the patient on purpose" in page.content()
    page.get_by_label("Substance use").check()
    page.get_by_label("Who should the peer ask for?").fill("Jordan at triage")
    page.get_by_role("button", name="Send the request").click()
    page.wait_for_load_state()
    peer_request = PeerRequest.objects.get()
    assert page.url.endswith(f"/requests/{peer_request.pk}/")
    assert "Peers are replying" in page.content()
    screenshot("request-collecting")

    # Mark the page: a reload would lose the mark.
    page.evaluate("window.__notReloaded = true")
    chosen = world.peers[0]
    services.record_yes(alert=peer_request.alerts.get(peer=chosen), now=timezone.now())
    services.complete_selection(request_id=peer_request.pk, now=timezone.now() + dt.timedelta(minutes=11))

    page.get_by_text(f"{chosen.full_name}").first.wait_for(timeout=10_000)
    assert page.evaluate("window.__notReloaded") is True
    content = page.content()
    assert world.agency.name in content
    assert chosen.phone.as_national in content
    screenshot("request-assigned")
