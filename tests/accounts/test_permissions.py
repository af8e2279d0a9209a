"""The one verification check: walk the whole URLconf as a member of an organisation that is not verified.

Every organisation page other than its home, its details and signing out answers the
awaiting-verification page (403), another refusal, or a redirect: never 200 with data. The
walk fills each route's arguments with the world's own objects (its request, peer, credential,
override, colleague), so a page that forgot the check would find them and show them.
"""

import re

import pytest
from django.core.files.base import ContentFile
from django.urls import get_resolver, reverse

from core.choices import OrganisationStatus
from peer_requests.models import Alert, RequestStatus
from reporting import pages
from tests.accounts.factories import StaffUserFactory
from tests.agencies.factories import AgencyFactory, AgencyMembershipFactory
from tests.locations.factories import LocationFactory, LocationMembershipFactory
from tests.peer_requests.factories import AlertFactory, PeerRequestFactory
from tests.peerrx.test_url_security import _walk
from tests.peers.factories import AvailabilityOverrideFactory, CredentialFactory, PeerFactory
from tests.world import T0

pytestmark = pytest.mark.django_db

# What a member may still open while the organisation is pending or suspended.
OPEN_WHILE_UNVERIFIED = {"locations:home", "locations:details", "agencies:home", "agencies:details"}
# Not organisation pages: the account's own pages, public pages, staff and operator pages,
# signed webhooks, the demo's phone simulator (staff, or anyone under DEBUG only).
NOT_ORGANISATION_PAGES = re.compile(
    r"^(home|healthz|login|logout|password_\w+|mfa:\w+|signup_sent|confirm_signup|locations:signup|agencies:signup|sms:\w+|demo:\w+|staff:\w+"
    r"|peer_requests:staff_create|peer_requests:widen|reporting:staff|reporting:index)$"
)
SECRET_PEER = "Zebediah"  # the agency's peer's first name: no refused page may show it


@pytest.fixture
def world():
    location = LocationFactory()
    agency = AgencyFactory(counties=[location.county])
    location_member = LocationMembershipFactory(location=location, is_admin=True)
    location_colleague = LocationMembershipFactory(location=location)
    agency_member = AgencyMembershipFactory(agency=agency, is_admin=True)
    agency_colleague = AgencyMembershipFactory(agency=agency)
    peer = PeerFactory(agency=agency, first_name=SECRET_PEER)
    credential = CredentialFactory(peer=peer)
    credential.document.save("certificate.pdf", ContentFile(b"%PDF-1.4 secret"), save=True)
    override = AvailabilityOverrideFactory(peer=peer)
    peer_request = PeerRequestFactory(
        location=location,
        status=RequestStatus.ASSIGNED,
        assigned_peer=peer,
        assigned_at=T0,
        assignment_reason="speaks Spanish",
    )
    AlertFactory(request=peer_request, peer=peer, response=Alert.Response.YES, is_assigned=True, score=80)
    return {
        "location": location,
        "agency": agency,
        "location_member": location_member.user,
        "agency_member": agency_member.user,
        "location_colleague": location_colleague,
        "agency_colleague": agency_colleague,
        "peer": peer,
        "credential": credential,
        "override": override,
        "request": peer_request,
    }


def _argument(name: str, world: dict) -> int:
    """The world's own object for a route's ``pk``: what a page that forgot the check would show."""
    namespace, _, page = name.partition(":")
    if namespace in {"peer_requests", "decisions", "encounters"}:
        return world["request"].pk
    if namespace == "locations":
        return world["location_colleague"].pk
    if namespace == "agencies":
        return world["agency_colleague"].pk
    if page.startswith("credential_"):
        return world["credential"].pk
    if page == "override_end":
        return world["override"].pk
    return world["peer"].pk


def organisation_urls(world: dict) -> list[tuple[str, str]]:
    """(URL name, path) for every organisation page, reports' CSV downloads included."""
    urls = []
    for route, name in _walk(get_resolver().url_patterns):
        if route.startswith("admin/") or name is None or NOT_ORGANISATION_PAGES.match(name):
            continue
        if name in OPEN_WHILE_UNVERIFIED:
            continue
        kwargs = {"pk": _argument(name, world)} if "<int:pk>" in route else {}
        urls.append((name, reverse(name, kwargs=kwargs)))
    for report in pages.LOCATION_REPORTS:
        urls.append(("reporting:location csv", f"{reverse('reporting:location')}?format=csv&report={report}"))
    for report in pages.AGENCY_REPORTS:
        urls.append(("reporting:agency csv", f"{reverse('reporting:agency')}?format=csv&report={report}"))
    return urls


def _leaks(response) -> bool:
    if response.status_code == 200:
        return True
    if response.status_code in {301, 302, 303, 403, 404, 405}:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return SECRET_PEER.encode() in body or b"secret" in body
    return True  # a 500 is a bug too


@pytest.mark.parametrize("status", [OrganisationStatus.SUSPENDED, OrganisationStatus.PENDING])
@pytest.mark.parametrize("who", ["location_member", "agency_member"])
def test_it_refuses_every_organisation_page_but_home_and_details(client, world, who, status):
    organisation = world["location"] if who == "location_member" else world["agency"]
    organisation.status = status
    organisation.save(update_fields=["status"])
    client.force_login(world[who])
    urls = organisation_urls(world)
    leaks = []
    for name, path in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            if _leaks(response):
                leaks.append((name, method, path, response.status_code))
    assert not leaks
    # The walk really reached the pages that matter most.
    names = {name for name, _path in urls}
    reached = {"peer_requests:live", "peers:credential_document", "decisions:detail", "peers:consent_csv"}
    reached |= {"encounters:list", "reporting:location csv", "reporting:agency csv", "locations:staff"}
    assert reached <= names


@pytest.mark.parametrize("status", [OrganisationStatus.SUSPENDED, OrganisationStatus.PENDING])
def test_it_answers_the_awaiting_verification_page_on_the_organisations_own_pages(client, world, status):
    world["agency"].status = status
    world["agency"].save(update_fields=["status"])
    client.force_login(world["agency_member"])
    for name in ["decisions:detail", "peers:credential_document", "peers:roster", "reporting:agency"]:
        kwargs = {"pk": _argument(name, world)} if name.endswith(("detail", "document")) else {}
        response = client.get(reverse(name, kwargs=kwargs))
        assert response.status_code == 403
        assert "awaiting_verification.html" in [t.name for t in response.templates], name


@pytest.mark.parametrize("status", [OrganisationStatus.SUSPENDED, OrganisationStatus.PENDING])
@pytest.mark.parametrize(
    ("who", "names"),
    [
        ("location_member", ["locations:home", "locations:details"]),
        ("agency_member", ["agencies:home", "agencies:details"]),
    ],
)
def test_it_keeps_home_and_details_open(client, world, who, names, status):
    organisation = world["location"] if who == "location_member" else world["agency"]
    organisation.status = status
    organisation.save(update_fields=["status"])
    client.force_login(world[who])
    for name in names:
        assert client.get(reverse(name)).status_code == 200


def test_it_opens_the_same_pages_to_a_verified_organisation(client, world):
    """The control: verified, the walk's pages answer without the awaiting-verification page."""
    client.force_login(world["location_member"])
    for path in [reverse("peer_requests:live", args=[world["request"].pk]), reverse("reporting:location")]:
        response = client.get(path)
        assert response.status_code == 200
    client.force_login(world["agency_member"])
    response = client.get(reverse("peers:credential_document", args=[world["credential"].pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_it_still_lets_peerrx_staff_download_a_suspended_agencys_document(client, world):
    world["agency"].status = OrganisationStatus.SUSPENDED
    world["agency"].save(update_fields=["status"])
    client.force_login(StaffUserFactory())
    response = client.get(reverse("peers:credential_document", args=[world["credential"].pk]))
    assert response.status_code == 200


class TestBlockedMember:
    """Three users: a blocked member, their unblocked colleague, and an outsider."""

    def test_it_refuses_a_blocked_member_every_organisation_page(self, client, world):
        membership = world["location_member"].location_membership
        membership.blocked = True
        membership.save(update_fields=["blocked"])
        client.force_login(world["location_member"])
        for name in ["locations:home", "locations:details", "locations:staff", "peer_requests:list"]:
            assert client.get(reverse(name)).status_code == 403, name
        assert client.get(reverse("peer_requests:live", args=[world["request"].pk])).status_code == 403

    def test_it_lets_the_unblocked_colleague_in(self, client, world):
        world["location_member"].location_membership.blocked = True
        world["location_member"].location_membership.save(update_fields=["blocked"])
        client.force_login(world["location_colleague"].user)
        assert client.get(reverse("locations:home")).status_code == 200

    def test_it_refuses_an_outsider_as_before(self, client, world):
        client.force_login(AgencyMembershipFactory().user)
        assert client.get(reverse("locations:home")).status_code == 403
