"""Sessions end: after idle time (polling does not count), after an absolute limit; no caching."""

import datetime as dt

import pytest
from django.urls import reverse
from freezegun import freeze_time

from tests.agencies.factories import AgencyMembershipFactory
from tests.locations.factories import LocationMembershipFactory
from tests.world import make_world, submit

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
HTMX = {"HX-Request": "true", "HX-Trigger": "live"}


@pytest.fixture
def limits(settings):
    settings.PEERRX_SESSION_IDLE_SECONDS = 1800
    settings.PEERRX_SESSION_MAX_SECONDS = 43_200


@pytest.fixture
def nurse_and_request(client, limits):
    world = make_world(peers=1)
    nurse = LocationMembershipFactory(location=world.location).user
    with freeze_time(T0):
        peer_request = submit(world, at=T0)
        client.force_login(nurse)
    return nurse, peer_request


def at(seconds: int):
    return freeze_time(T0 + dt.timedelta(seconds=seconds))


def test_it_keeps_an_active_session(client, nurse_and_request):
    _nurse, peer_request = nurse_and_request
    for minute in (20, 40, 60):
        with at(minute * 60):
            assert client.get(reverse("peer_requests:detail", args=[peer_request.pk])).status_code == 200


def test_it_logs_out_after_idle_time_with_a_message(client, nurse_and_request):
    _nurse, peer_request = nurse_and_request
    detail = reverse("peer_requests:detail", args=[peer_request.pk])
    with at(1801):
        response = client.get(detail, follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("login"))
    assert "inactivity" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_polling_does_not_keep_the_session_alive(client, nurse_and_request):
    _nurse, peer_request = nurse_and_request
    live = reverse("peer_requests:live", args=[peer_request.pk])
    for seconds in range(120, 1800, 120):
        with at(seconds):
            assert client.get(live, headers=HTMX).status_code == 200
    with at(1801):
        response = client.get(
            live, headers={**HTMX, "HX-Current-URL": f"http://testserver/requests/{peer_request.pk}/"}
        )
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("login") + "?next=")
    assert f"%2Frequests%2F{peer_request.pk}%2F" in response["HX-Redirect"]
    assert "_auth_user_id" not in client.session


def test_the_same_url_without_htmx_counts_as_activity(client, nurse_and_request):
    _nurse, peer_request = nurse_and_request
    live = reverse("peer_requests:live", args=[peer_request.pk])
    with at(1000):
        client.get(live)
    with at(2500):
        assert client.get(live, headers=HTMX).status_code == 200
        assert "HX-Redirect" not in client.get(live, headers=HTMX)


def test_it_ends_every_session_after_the_absolute_limit(client, nurse_and_request):
    _nurse, peer_request = nurse_and_request
    detail = reverse("peer_requests:detail", args=[peer_request.pk])
    for minutes in range(20, 12 * 60, 20):
        with at(minutes * 60):
            assert client.get(detail).status_code == 200
    with at(12 * 3600 + 1):
        response = client.get(detail)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_marks_authenticated_pages_and_downloads_no_store(client):
    supervisor = AgencyMembershipFactory().user
    client.force_login(supervisor)
    for url in (reverse("peers:roster"), reverse("peers:consent_csv")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url


@pytest.mark.parametrize("view", ["peer_requests:list", "locations:home"])
def test_the_list_and_the_start_page_refreshing_do_not_keep_it_alive_either(client, nurse_and_request, view):
    url = reverse(view)
    for seconds in range(120, 1800, 120):
        with at(seconds):
            assert client.get(url, headers=HTMX).status_code in (200, 286)
    with at(1801):
        response = client.get(url, headers=HTMX)
    assert response["HX-Redirect"].startswith(reverse("login") + "?next=")
    assert "_auth_user_id" not in client.session
