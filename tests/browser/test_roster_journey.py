"""An agency supervisor builds a peer's record in Chromium and sees "available now" follow it."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from peers.models import AvailabilityOverride, Credential, Peer
from peers.services import validate_credential
from tests.accounts.factories import StaffUserFactory
from tests.agencies.factories import AgencyMembershipFactory
from tests.browser.conftest import assert_every_field_labelled, log_in
from tests.world import seed_reference_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_adds_a_peer_with_credential_and_hours_then_marks_them_unavailable(page, screenshot):
    seed_reference_data()
    membership = AgencyMembershipFactory(
        user__username="supervisor", agency__name="Hudson Valley Peer Services"
    )
    agency = membership.agency
    log_in(page, "supervisor")

    # The peer.
    page.goto("/roster/")
    page.get_by_role("link", name="Add a peer").first.click()
    assert_every_field_labelled(page)
    page.get_by_label("First name").fill("Rosa")
    page.get_by_label("Last name").fill("Delgado")
    page.get_by_label("Mobile number").fill("845-555-0142")
    page.get_by_label("Age range").select_option(label="36+")
    page.get_by_label("Gender").select_option(label="Female")
    page.get_by_label("Spanish").check()
    page.get_by_role("button", name="Add peer").click()
    expect(page.get_by_role("heading", name="Rosa Delgado")).to_be_visible()
    peer = Peer.objects.get(agency=agency)
    assert str(peer.phone) == "+18455550142"
    assert [language.code for language in peer.languages.all()] == ["es"]

    # A credential: it waits for the Peer-RX team.
    page.get_by_role("link", name="Add a credential").click()
    assert_every_field_labelled(page)
    page.get_by_label("Credential").select_option(label="CRPA — Certified Recovery Peer Advocate")
    page.get_by_label("Certificate number").fill("CRPA-20931")
    page.get_by_label("Issued on").fill("2024-03-01")
    page.get_by_label("Expires on").fill("2027-03-01")
    page.get_by_role("button", name="Add credential").click()
    expect(page.get_by_text("Awaiting validation")).to_be_visible()
    credential = Credential.objects.get(peer=peer)
    assert (credential.type.code, credential.number, credential.status) == ("CRPA", "CRPA-20931", "pending")

    # Weekly hours: whole days from yesterday to tomorrow in the agency's zone, so "now" is covered.
    today = timezone.localtime(timezone.now(), ZoneInfo(agency.timezone)).weekday()
    page.get_by_role("link", name="Edit weekly hours").click()
    assert_every_field_labelled(page)
    for row, weekday in enumerate([(today - 1) % 7, today, (today + 1) % 7], start=1):
        page.get_by_label(f"Day of window {row}", exact=True).select_option(str(weekday))
        page.get_by_label(f"Start of window {row}", exact=True).fill("00:00")
        page.get_by_label(f"End of window {row}", exact=True).fill("00:00")
    page.get_by_role("button", name="Save weekly hours").click()
    expect(page.get_by_text("Weekly hours saved.")).to_be_visible()
    assert sorted(peer.windows.values_list("weekday", flat=True)) == sorted(
        {(today - 1) % 7, today, (today + 1) % 7}
    )
    expect(page.locator("#main .badge", has_text="Available now")).to_be_visible()

    page.goto("/roster/")
    expect(page.get_by_role("link", name="Rosa Delgado")).to_be_visible()
    screenshot("journey3-roster")

    # A credential awaiting validation does not make her alertable, so "available now" leaves her out.
    page.goto("/roster/available/")
    expect(page.get_by_text("Nobody is available right now.")).to_be_visible()
    validate_credential(credential=credential, actor=StaffUserFactory())

    page.goto("/roster/available/")
    row = page.get_by_role("row").filter(has_text="Rosa Delgado")
    expect(row).to_be_visible()
    expect(row).to_contain_text("Weekly hours")
    expect(page.get_by_text("1 peer available.")).to_be_visible()
    screenshot("journey3-available-now")

    # Unavailable for the next three hours, whatever the weekly hours say.
    page.get_by_role("link", name="Rosa Delgado").click()
    assert_every_field_labelled(page)
    until = timezone.localtime(timezone.now(), ZoneInfo(agency.timezone)) + dt.timedelta(hours=3)
    page.get_by_label("Unavailable until").fill(until.strftime("%Y-%m-%dT%H:%M"))
    unavailable_form = page.locator("form", has=page.get_by_role("button", name="Set unavailable"))
    unavailable_form.get_by_label("Reason (optional)").fill("Training day")
    page.get_by_role("button", name="Set unavailable").click()
    expect(page.locator("#main .badge", has_text="Not available now")).to_be_visible()
    override = AvailabilityOverride.objects.get(peer=peer)
    assert override.is_available is False
    assert override.reason == "Training day"
    assert abs(override.ends_at - until.replace(second=0, microsecond=0)) < dt.timedelta(seconds=1)

    page.goto("/roster/available/")
    expect(page.get_by_text("Nobody is available right now.")).to_be_visible()
    expect(page.get_by_role("link", name="Rosa Delgado")).to_have_count(0)
    screenshot("journey3-available-now-after-override")
