"""Location staff request a peer in Chromium: the live page follows the request to its end,
and on to the peer at the patient's side.

The page is marked with a JavaScript variable once it is open: a reload would lose the mark,
so finding it again at the end proves every change arrived through htmx polling.
"""

import datetime as dt

import pytest
from playwright.sync_api import expect

from peer_requests import services
from peer_requests.models import PeerRequest, RequestStatus
from tests.accounts.factories import StaffUserFactory
from tests.browser.conftest import assert_every_field_labelled, log_in, post_signed_sms, tab_to
from tests.locations.factories import LocationMembershipFactory
from tests.world import make_world, seed_reference_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT = {"timeout": 10_000}  # two polls of the live partial, with room to spare


def _mark_page(page) -> None:
    page.evaluate("window.__notReloaded = true")


def _assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__notReloaded") is True


def test_it_assigns_a_peer_who_texted_yes_and_shows_them_live(
    page, new_page, live_server, screenshot, inbound_worker
):
    seed_reference_data()
    world = make_world(peers=2)
    LocationMembershipFactory(location=world.location, user__username="nurse")
    log_in(page, "nurse")

    page.goto("/requests/new/")
    assert_every_field_labelled(page)
    screenshot("journey1-request-form")

    # Keyboard only, from the top of the page: Tab between fields, arrows in the radio group,
    # Enter to open the optional preferences, Space to tick, Enter to send.
    tab_to(page, "input[name=need]")
    expect(page.locator("input[name=need]:checked")).to_have_count(0)  # nothing chosen for the nurse
    page.keyboard.press("ArrowDown")  # the arrow keys move through the group and choose
    expect(page.get_by_label("Substance use")).to_be_checked()
    tab_to(page, "input[name=callback_contact]")
    page.keyboard.type("Jordan at triage, ext. 4410")
    tab_to(page, "details.preferences > summary")
    page.keyboard.press("Enter")
    tab_to(page, "input[name=languages]")
    page.keyboard.press("Space")
    language_id = int(page.evaluate("document.activeElement.value"))
    assert page.evaluate("document.activeElement.checked") is True
    tab_to(page, "button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    peer_request = PeerRequest.objects.get()
    assert page.url.endswith(f"/requests/{peer_request.pk}/")
    assert peer_request.need == "substance_use"
    assert peer_request.callback_contact == "Jordan at triage, ext. 4410"
    assert [language.pk for language in peer_request.languages.all()] == [language_id]
    assert peer_request.alerts.count() == 2
    expect(page.get_by_text("Peers are replying")).to_be_visible()
    _mark_page(page)

    # Both peers answer YES through Twilio's signed webhook (each handled as soon as the server
    # commits it, as an idle worker would); the YES count climbs on the page.
    yes_count = page.locator("#live .fs-4.text-success")
    expect(yes_count).to_have_text("0")
    for peer in world.peers:
        assert (
            post_signed_sms(live_server, from_number=str(peer.phone), body=f"YES {peer_request.code}") == 200
        )
    expect(yes_count).to_have_text("2", **WAIT)
    screenshot("journey1-request-live-collecting")

    # The choice time passes: the sweeper makes the choice.
    choice_time = peer_request.selection_due_at + dt.timedelta(seconds=1)
    assert services.complete_due_requests(now=choice_time).selected == 1
    peer_request.refresh_from_db()
    assert peer_request.status == RequestStatus.ASSIGNED
    chosen = peer_request.assigned_peer
    assert chosen in world.peers

    expect(page.get_by_text(f"{chosen.full_name} of {world.agency.name} is assigned")).to_be_visible(**WAIT)
    expect(page.get_by_role("link", name=chosen.phone.as_national)).to_be_visible()

    # The peer texts that they are on the way, about 10 minutes: the page follows.
    assert (
        post_signed_sms(live_server, from_number=str(chosen.phone), body=f"OMW {peer_request.code} 10") == 200
    )
    expect(
        page.get_by_text(f"{chosen.full_name} of {world.agency.name} is on the way, expected about")
    ).to_be_visible(**WAIT)
    _assert_not_reloaded(page)
    screenshot("journey1-request-live-assigned")

    # The peer arrives: the nurse presses "Peer arrived".
    with page.expect_navigation():
        page.get_by_role("button", name="Peer arrived").click()
    expect(page.get_by_text("Arrival recorded.")).to_be_visible()
    expect(page.get_by_text(f"{chosen.full_name} of {world.agency.name} arrived at")).to_be_visible()
    expect(page.get_by_role("button", name="Encounter finished")).to_be_visible()
    peer_request.refresh_from_db()
    assert peer_request.arrived_at is not None
    screenshot("journey1-request-peer-arrived")

    # Peer-RX staff, at another desk, find the request in the reports.
    StaffUserFactory(username="staff")
    staff = new_page()
    log_in(staff, "staff")
    staff.goto("/reports/")
    expect(staff.get_by_role("heading", name="Reports: all of Peer-RX")).to_be_visible()
    assert_every_field_labelled(staff)
    placed = staff.get_by_role("row").filter(has_text="Orange Regional ED").first
    expect(placed).to_contain_text("100.0 %")  # one request placed, one filled
    # The time to the patient's side: the peer arrived within the hour.
    expect(staff.get_by_role("heading", name="Time to the patient's side")).to_be_visible()
    bedside = staff.get_by_role("row").filter(has_text="All requests").first
    expect(bedside).to_contain_text("100.0 %")
    staff.screenshot(path=str(screenshot.directory / "journey1-staff-reports.png"), full_page=True)


def test_it_offers_resubmit_when_nobody_answers_and_links_the_new_request(page, screenshot):
    seed_reference_data()
    world = make_world(peers=1)
    membership = LocationMembershipFactory(location=world.location, user__username="nurse")
    first = services.submit_request(
        location=world.location, need="substance_use", callback_contact="Charge nurse", actor=membership.user
    )
    log_in(page, "nurse")
    page.goto(f"/requests/{first.pk}/")
    expect(page.get_by_text("Peers are replying")).to_be_visible()
    expect(page.get_by_role("button", name="Resubmit")).to_have_count(0)
    _mark_page(page)

    # Nobody answers: the expiry passes (the choice, with no YES, runs first).
    assert services.expire(request_id=first.pk, now=first.expires_at + dt.timedelta(seconds=1))
    first.refresh_from_db()
    assert first.status == RequestStatus.EXPIRED

    resubmit = page.get_by_role("button", name="Resubmit")
    expect(resubmit).to_be_visible(**WAIT)
    expect(page.get_by_text("No peer was found in time.")).to_be_visible()
    _assert_not_reloaded(page)
    screenshot("journey2-request-expired")

    with page.expect_navigation():
        resubmit.click()
    second = PeerRequest.objects.exclude(pk=first.pk).get()
    assert second.resubmitted_from == first
    assert second.status == RequestStatus.COLLECTING
    assert (second.need, second.callback_contact) == (first.need, first.callback_contact)
    assert page.url.endswith(f"/requests/{second.pk}/")
    expect(page.get_by_text(f"Resubmitted as request {second.code}.")).to_be_visible()
    expect(page.get_by_role("link", name=f"request {first.code}")).to_be_visible()
    screenshot("journey2-request-resubmitted")

    # The first request's page now links forward to the new one, and offers no second resubmit.
    page.goto(f"/requests/{first.pk}/")
    expect(page.get_by_role("link", name=f"request {second.code}")).to_be_visible()
    expect(page.get_by_role("button", name="Resubmit")).to_have_count(0)
