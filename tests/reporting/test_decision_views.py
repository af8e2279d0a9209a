import datetime as dt
import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from core.choices import OrganisationStatus
from peer_requests.candidates import rank_responders
from tests.accounts.factories import StaffUserFactory, UserFactory
from tests.agencies.factories import AgencyFactory, AgencyMembershipFactory
from tests.locations.factories import LocationMembershipFactory
from tests.peer_requests.factories import PeerRequestFactory
from tests.peers.factories import CredentialFactory, PeerFactory, language
from tests.reporting.test_decisions import choose, yes
from tests.world import T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Two agencies whose peers both said YES to one request; the rival's peer is chosen."""
    owner = AgencyMembershipFactory()
    agency = owner.agency
    member = AgencyMembershipFactory(agency=agency)
    rival_membership = AgencyMembershipFactory()
    peer_request = PeerRequestFactory(languages=[language("es")], code="4821")
    ours = PeerFactory(agency=agency, first_name="Olivia", last_name="Ours")
    CredentialFactory(peer=ours)
    rival = PeerFactory(agency=rival_membership.agency, first_name="Rosa", last_name="Rival")
    CredentialFactory(peer=rival)
    rival.languages.add(language("es"))
    yes(peer_request, ours, after=30)
    yes(peer_request, rival, after=300)
    choose(peer_request)
    return {
        "owner": owner.user,
        "member": member.user,
        "outsider": rival_membership.user,
        "request": peer_request,
    }


class TestDecisions:
    def test_it_sends_anonymous_users_to_login(self, client):
        response = client.get(reverse("decisions:list"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize(
        "make_user",
        [lambda: LocationMembershipFactory().user, lambda: StaffUserFactory(), lambda: UserFactory()],
        ids=["location", "staff", "no-role"],
    )
    def test_it_refuses_other_roles(self, client, make_user):
        client.force_login(make_user())
        assert client.get(reverse("decisions:list")).status_code == 403

    @pytest.mark.parametrize("who", ["owner", "member"])
    def test_it_shows_why_our_peer_was_not_chosen(self, client, world, who):
        client.force_login(world[who])
        response = client.get(reverse("decisions:list"))
        assert response.status_code == 200
        content = response.content.decode()
        assert "4821" in content
        assert "Olivia Ours" in content
        assert "Ranked 2 of 2: 54.75 points; a peer of another agency was chosen with 82.5." in content
        assert "requested language (−30.00)" in content
        assert "27.75 behind the chosen peer" in content
        assert "Rosa" not in content
        assert "Rival" not in content
        assert "speaks Spanish" not in content  # the chosen peer's traits

    def test_it_shows_the_other_agency_its_own_side(self, client, world):
        client.force_login(world["outsider"])
        content = client.get(reverse("decisions:list")).content.decode()
        assert "Rosa Rival" in content
        assert "chosen" in content
        assert "Olivia" not in content

    def test_it_has_a_nav_link(self, client, world):
        client.force_login(world["owner"])
        response = client.get(reverse("agencies:home"))
        assert f'href="{reverse("decisions:list")}"' in response.content.decode()

    def test_it_says_when_there_is_nothing_yet(self, client):
        client.force_login(AgencyMembershipFactory().user)
        assert b"None of your peers has said YES" in client.get(reverse("decisions:list")).content

    def test_it_pages(self, client):
        membership = AgencyMembershipFactory()
        for n in range(27):
            yes(
                PeerRequestFactory(created_at=T0 + dt.timedelta(minutes=n)),
                PeerFactory(agency=membership.agency),
            )
        client.force_login(membership.user)
        first = client.get(reverse("decisions:list")).content.decode()
        second = client.get(reverse("decisions:list"), {"page": 2}).content.decode()
        assert len(re.findall(r'href="/decisions/\d+/"', first)) == 25
        assert "Page 1 of 2" in first
        assert "Page 2 of 2" in second
        assert len(re.findall(r'href="/decisions/\d+/"', second)) == 2

    def test_it_uses_a_constant_number_of_queries(self, client, django_assert_num_queries):
        membership = AgencyMembershipFactory()
        client.force_login(membership.user)

        def add_requests(count):
            for _ in range(count):
                peer_request = PeerRequestFactory()
                yes(peer_request, PeerFactory(agency=membership.agency))
                yes(peer_request, PeerFactory(agency=AgencyFactory()))
                choose(peer_request)

        add_requests(2)
        # Session, user, membership, agency, location membership (context), count, page,
        # our alerts, the chosen alerts.
        with django_assert_num_queries(9) as few:
            assert client.get(reverse("decisions:list")).status_code == 200
        add_requests(10)
        with django_assert_num_queries(len(few.captured_queries)):
            assert client.get(reverse("decisions:list")).status_code == 200


class TestDecision:
    def test_it_compares_our_peer_with_the_chosen_peer(self, client, world):
        client.force_login(world["owner"])
        response = client.get(reverse("decisions:detail", args=[world["request"].pk]))
        assert response.status_code == 200
        content = response.content.decode()
        assert "Olivia Ours" in content
        assert "A peer of another agency: only their points are shown" in content
        assert "82.50 points" in content
        assert "speaks none of Spanish" in content  # our peer's note
        assert "Chosen peer's lead" in content
        assert re.search(r"Requested language</th>\s*<td[^>]*>0\.00</td>\s*<td[^>]*>\+30\.00</td>", content)
        assert re.search(r"Total</th><td[^>]*>54\.75</td><td[^>]*>\+27\.75</td>", content)
        assert "Rosa" not in content
        assert "Rival" not in content
        assert "speaks Spanish ·" not in content  # the chosen peer's one-line reason names traits

    def test_it_is_404_for_a_request_none_of_our_peers_said_yes_to(self, client, world):
        client.force_login(AgencyMembershipFactory().user)
        assert client.get(reverse("decisions:detail", args=[world["request"].pk])).status_code == 404

    def test_it_is_404_for_a_missing_request(self, client, world):
        client.force_login(world["owner"])
        assert client.get(reverse("decisions:detail", args=[999_999])).status_code == 404

    @pytest.mark.parametrize("status", [OrganisationStatus.SUSPENDED, OrganisationStatus.PENDING])
    def test_it_is_closed_to_an_agency_that_is_not_verified(self, client, world, status):
        agency = world["owner"].agency_membership.agency
        agency.status = status
        agency.save()
        client.force_login(world["owner"])
        response = client.get(reverse("decisions:detail", args=[world["request"].pk]))
        assert response.status_code == 403
        assert "Olivia" not in response.content.decode()

    def test_it_refuses_location_staff(self, client, world):
        client.force_login(LocationMembershipFactory(location=world["request"].location).user)
        assert client.get(reverse("decisions:detail", args=[world["request"].pk])).status_code == 403

    def test_it_uses_a_constant_number_of_queries(self, client, world, django_assert_num_queries):
        client.force_login(world["owner"])
        url = reverse("decisions:detail", args=[world["request"].pk])
        with django_assert_num_queries(8):
            assert client.get(url).status_code == 200


class TestBreakdownPartial:
    def test_it_renders_a_stored_breakdown(self):
        peer_request = PeerRequestFactory(languages=[language("es")])
        yes(peer_request, after=120)
        (ranked,) = rank_responders(peer_request=peer_request, now=T0 + dt.timedelta(minutes=10))
        html = render_to_string("peer_requests/_breakdown.html", {"breakdown": ranked.breakdown})
        assert '<th scope="row" class="fw-normal">Credential fit</th>' in html
        assert "speaks none of Spanish" in html
        assert "54.00" in html  # 40 + 0 + 4 + 10
        assert "rank 1" in html

    def test_it_says_when_nothing_was_stored(self):
        assert "No score stored" in render_to_string("peer_requests/_breakdown.html", {"breakdown": {}})
