"""Organisations in Chromium: a location signs up and waits; Peer-RX staff verify it in the admin."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import AuditEntry
from core.choices import OrganisationStatus
from locations.models import Location
from peer_requests.models import PeerRequest
from peers.models import Credential
from tests.accounts.factories import StaffUserFactory
from tests.agencies.factories import AgencyFactory
from tests.browser.conftest import assert_every_field_labelled, log_in
from tests.locations.factories import CountyFactory, LocationFactory, LocationMembershipFactory
from tests.world import eligible_peer, seed_reference_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def field(page, label: str):
    """The form control labelled ``label`` (crispy adds an asterisk to required fields' labels)."""
    # Not re.escape: it escapes spaces, which the JavaScript side refuses in a unicode pattern.
    pattern = re.sub(r"([.?*+()\[\]^$|\\])", r"\\\1", label)
    return page.get_by_label(re.compile(rf"^\s*{pattern}\s*\*?\s*$"))


def run_admin_action(page, *, row: str, action: str) -> None:
    """Tick one row of an admin changelist, choose the action and press Go, as staff do."""
    page.get_by_role("checkbox", name=f"Select this object for an action - {row}").check()
    page.get_by_role("combobox", name=re.compile("^Action")).select_option(label=action)
    page.get_by_role("button", name="Go").click()


def test_it_lets_staff_verify_a_location_and_validate_a_credential_in_the_admin(page, new_page, screenshot):
    seed_reference_data()
    county = CountyFactory()
    location = LocationFactory(
        county=county, name="Port Jervis Behavioral Health", status=OrganisationStatus.PENDING
    )
    LocationMembershipFactory(location=location, user__username="pending")
    agency = AgencyFactory(counties=[county], name="Hudson Valley Peer Services")
    peer = eligible_peer(agency=agency, first_name="Rosa", last_name="Delgado")
    credential = peer.credentials.get()
    credential.status = Credential.Status.PENDING
    credential.save(update_fields=["status"])
    staff = StaffUserFactory(username="staff")
    log_in(page, "staff")

    page.goto("/admin/locations/location/")
    run_admin_action(page, row="Port Jervis Behavioral Health", action="Verify the selected locations")
    expect(page.get_by_text("Verified: Port Jervis Behavioral Health.")).to_be_visible()
    screenshot("journey4-admin-location-verified")
    location.refresh_from_db()
    assert location.status == OrganisationStatus.VERIFIED
    assert location.verified_by == staff

    page.goto("/admin/peers/credential/")
    run_admin_action(page, row=str(credential), action="Validate selected credentials")
    expect(page.get_by_text("1 credential validated.")).to_be_visible()
    screenshot("journey4-admin-credential-validated")
    credential.refresh_from_db()
    assert credential.status == Credential.Status.VALIDATED
    assert credential.validated_by == staff
    assert AuditEntry.objects.filter(actor=staff).count() >= 2

    # At another desk, the location's staff member can now request, and the validated peer is alerted.
    nurse = new_page()
    log_in(nurse, "pending")
    nurse.get_by_role("link", name="Request a peer").click()
    expect(nurse.get_by_role("heading", name=re.compile("^Request a peer"))).to_be_visible()
    assert_every_field_labelled(nurse)
    nurse.get_by_label("Substance use").check()
    field(nurse, "Who should the peer ask for?").fill("Front desk")
    nurse.get_by_role("button", name="Send the request").click()
    expect(nurse.get_by_text("Peers are replying")).to_be_visible()
    peer_request = PeerRequest.objects.get(location=location)
    assert list(peer_request.alerts.values_list("peer", flat=True)) == [peer.pk]


def test_it_signs_a_location_up_that_cannot_request_until_verified(page, screenshot):
    seed_reference_data()
    CountyFactory(name="Orange", state="NY")
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Register a hospital or clinic").click()
    expect(page.get_by_role("heading", name="Register a hospital or clinic")).to_be_visible()
    assert_every_field_labelled(page)

    field(page, "Name of the location").fill("Warwick Valley Clinic")
    field(page, "Kind").select_option(index=1)
    field(page, "Street address").fill("15 Forester Avenue, Warwick, NY 10990")
    field(page, "County").select_option(label="Orange County, NY")
    field(page, "Notification phone").fill("845-555-0177")
    field(page, "First name").fill("Dana")
    field(page, "Last name").fill("Reyes")
    field(page, "Email").fill("dana@warwick.example.org")
    field(page, "Username").fill("dana")
    field(page, "Password").fill("a-long-Unusual-passphrase-42")
    field(page, "Password again").fill("a-long-Unusual-passphrase-42")
    screenshot("journey5-signup-form")
    page.get_by_role("button", name="Register").click()

    # "Check your email": the link in the mail confirms the address and logs Dana in, on the
    # home page with the notice, and no "Request a peer" link.
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    link = re.search(r"https?://[^/\s]+(/accounts/registered/\S+/)", mail.outbox[-1].body).group(1)
    page.goto(link)
    expect(page.get_by_text("Warwick Valley Clinic is registered and awaiting verification.")).to_be_visible()
    expect(page.get_by_role("heading", name="Awaiting verification")).to_be_visible()
    expect(page.get_by_role("link", name="Request a peer")).to_have_count(0)
    location = Location.objects.get(name="Warwick Valley Clinic")
    assert location.status == OrganisationStatus.PENDING
    assert (location.county.name, location.county.state) == ("Orange", "NY")

    # Typing the address of the request form anyway gives the awaiting-verification page.
    response = page.goto("/requests/new/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Warwick Valley Clinic is awaiting verification")).to_be_visible()
    expect(page.get_by_role("button", name="Send the request")).to_have_count(0)
    screenshot("journey5-awaiting-verification")
    assert not PeerRequest.objects.exists()
