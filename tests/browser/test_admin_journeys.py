"""Peer-RX staff in the admin at a desktop's and a phone's size: verify an agency, validate a
credential, read a peer's page with its inlines and a request's timeline. axe-core (WCAG 2.1
A and AA) finds nothing on any page, and no page scrolls sideways at 390 px."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from core.choices import OrganisationStatus
from peer_requests import services
from peers.models import Credential
from tests.accounts.factories import StaffUserFactory
from tests.agencies.factories import AgencyFactory
from tests.browser.conftest import log_in
from tests.browser.test_accessibility import SIZES, _violations
from tests.browser.test_organisation_journeys import run_admin_action
from tests.browser.test_supervisor_journeys import save_screenshot
from tests.locations.factories import LocationFactory
from tests.peers.factories import AvailabilityOverrideFactory, AvailabilityWindowFactory, CredentialFactory
from tests.world import make_world, seed_reference_data, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def check_page(page, where: str, *, size: str, problems: list[str]) -> None:
    """axe's WCAG 2.1 A/AA violations on this page, and (on a phone) a page wider than the screen."""
    problems += [f"{where}: {violation}" for violation in _violations(page)]
    if size == "phone":
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if widths[0] > widths[1]:
            problems.append(f"{where} scrolls sideways at 390 px: {widths[0]} > {widths[1]}")


@pytest.mark.parametrize("size", SIZES)
def test_staff_verify_an_agency_and_validate_a_credential_in_the_admin(browser, live_server, size):
    seed_reference_data()
    world = make_world(peers=1)
    pending_agency = AgencyFactory(name="Warwick Valley Peer Network", status=OrganisationStatus.PENDING)
    pending_location = LocationFactory(
        name="Port Jervis Behavioral Health", status=OrganisationStatus.PENDING
    )
    peer = world.peers[0]
    waiting = CredentialFactory(peer=peer, status=Credential.Status.PENDING, number="CRPA-20931")
    AvailabilityWindowFactory(peer=peer, weekday=1, start=dt.time(22), end=dt.time(6))
    AvailabilityOverrideFactory(peer=peer, starts_at=dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC))
    peer_request = submit(world, at=None)
    services.record_yes(alert=peer_request.alerts.get(peer=peer))
    staff = StaffUserFactory(username="staff")

    context = browser.new_context(base_url=live_server.url, viewport=SIZES[size])
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, "staff")
    problems: list[str] = []

    # The staff home says what waits, and links straight to the filtered admin lists.
    page.goto("/staff/")
    check_page(page, "staff home", size=size, problems=problems)
    page.get_by_role("link", name="1 agency").click()
    expect(page.get_by_role("link", name="Warwick Valley Peer Network")).to_be_visible()
    check_page(page, "pending agencies", size=size, problems=problems)
    run_admin_action(page, row="Warwick Valley Peer Network", action="Verify the selected agencies")
    expect(page.get_by_text(re.compile("Verified: Warwick Valley Peer Network"))).to_be_visible()
    check_page(page, "agency verified", size=size, problems=problems)
    pending_agency.refresh_from_db()
    assert (pending_agency.status, pending_agency.verified_by) == (OrganisationStatus.VERIFIED, staff)
    page.goto(f"/admin/agencies/agency/{pending_agency.pk}/change/")
    expect(page.locator(".search-label-icon").first).to_have_attribute("role", "img")
    check_page(page, "agency change page", size=size, problems=problems)

    page.goto("/staff/")
    page.get_by_role("link", name="1 location").click()
    run_admin_action(page, row="Port Jervis Behavioral Health", action="Verify the selected locations")
    expect(page.get_by_text("Verified: Port Jervis Behavioral Health.")).to_be_visible()
    check_page(page, "location verified", size=size, problems=problems)
    page.goto(f"/admin/locations/location/{pending_location.pk}/change/")
    check_page(page, "location change page", size=size, problems=problems)

    page.goto("/staff/")
    page.get_by_role("link", name=re.compile("credential awaiting validation")).click()
    status_heading = page.get_by_role("columnheader", name="Status")
    expect(status_heading).to_be_visible()
    if size == "desktop":  # Status is within the first screen's width, not off to the right
        box = status_heading.bounding_box()
        assert box["x"] + box["width"] <= 1280
    check_page(page, "credentials awaiting validation", size=size, problems=problems)
    run_admin_action(page, row=str(waiting), action="Validate selected credentials")
    expect(page.get_by_text("1 credential validated.")).to_be_visible()
    waiting.refresh_from_db()
    assert (waiting.status, waiting.validated_by) == (Credential.Status.VALIDATED, staff)
    save_screenshot(page, f"admin-credential-validated-{size}")

    # The peer's page, with credentials, weekly hours and overrides inline: staff read it (the
    # agency keeps its roster; editing in the admin is for operators, whose fields are labelled).
    page.goto(f"/admin/peers/peer/{peer.pk}/change/")
    expect(page.get_by_role("heading", name="Credentials")).to_be_visible()
    expect(page).to_have_title(re.compile("View peer"))
    check_page(page, "peer change page", size=size, problems=problems)

    # A request's timeline, in the location's time zone, labelled, with no UTC beside it.
    page.goto(f"/admin/peer_requests/peerrequest/{peer_request.pk}/change/")
    events = page.locator("#events-group")
    expect(events).to_contain_text(re.compile(r"E[SD]T"))
    assert "UTC" not in events.inner_text()
    check_page(page, "request change page", size=size, problems=problems)
    save_screenshot(page, f"admin-request-{size}")
    context.close()
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("size", SIZES)
def test_the_staff_pages_and_the_phone_simulator_fit_a_phone_and_pass_axe(browser, live_server, size):
    seed_reference_data()
    world = make_world(peers=2)
    peer_request = submit(world, at=None)
    services.record_yes(alert=peer_request.alerts.get(peer=world.peers[0]))
    expired = submit(world, at=None)
    services.expire(request_id=expired.pk, now=expired.expires_at)
    StaffUserFactory(username="staff")

    context = browser.new_context(base_url=live_server.url, viewport=SIZES[size])
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, "staff")
    problems: list[str] = []
    for path, where in [
        ("/staff/follow-ups/", "follow-ups"),
        ("/reports/staff/", "staff reports"),
        ("/sms/simulator/", "phone simulator"),
        (f"/sms/simulator/peer/{world.peers[0].pk}/", "a peer's phone"),
    ]:
        page.goto(path)
        page.wait_for_load_state()
        check_page(page, where, size=size, problems=problems)
    context.close()
    assert problems == [], "\n".join(problems)
