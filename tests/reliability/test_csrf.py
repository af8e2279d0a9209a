"""CSRF: every URL refuses a POST without a token, except Twilio's two signed webhooks."""

import pytest
from django.http import HttpResponseForbidden
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import StaffUserFactory
from tests.peerrx.test_url_security import _sample_path, _walk
from tests.reliability.helpers import INBOUND, post_signed

pytestmark = pytest.mark.django_db

SIGNED_WEBHOOKS = {"sms:inbound": [], "sms:status": [1], "sms:status_by_provider_id": []}
MARKER = b"refused: csrf"


def csrf_refused(request, reason=""):
    """Stands in for Django's CSRF failure view so a CSRF refusal is told apart from a 403."""
    return HttpResponseForbidden(MARKER)


def every_path() -> list:
    from django.urls import get_resolver

    params = []
    for route, name in _walk(get_resolver().url_patterns):
        if name in SIGNED_WEBHOOKS or route.startswith("static/"):
            continue
        path = _sample_path(route)
        if path is not None:
            params.append(pytest.param(path, id=name or path))
    return params


@pytest.fixture
def csrf_client(settings) -> Client:
    settings.CSRF_FAILURE_VIEW = "tests.reliability.test_csrf.csrf_refused"
    return Client(enforce_csrf_checks=True)


@pytest.mark.parametrize("path", every_path())
def test_it_refuses_a_post_without_a_csrf_token_signed_in(csrf_client, path):
    csrf_client.force_login(StaffUserFactory())
    response = csrf_client.post(path, {"name": "x"})
    assert (response.status_code, response.content) == (403, MARKER)


@pytest.mark.parametrize("name", ["login", "password_reset", "locations:signup", "agencies:signup"])
def test_it_refuses_a_public_form_post_without_a_csrf_token(csrf_client, name):
    response = csrf_client.post(reverse(name), {"username": "x", "password": "y"})
    assert (response.status_code, response.content) == (403, MARKER)


def test_the_walk_covers_the_admin_and_the_portals():
    paths = {p.values[0] for p in every_path()}
    assert "/requests/new/" in paths
    assert any(p.startswith("/admin/") and p.endswith("/change/") for p in paths)


@pytest.mark.parametrize("name", sorted(SIGNED_WEBHOOKS))
def test_the_signed_webhooks_take_a_post_without_a_csrf_token(csrf_client, name):
    path = reverse(name, args=SIGNED_WEBHOOKS[name])
    params = {"MessageSid": "SM" + "c" * 32, "From": "+12125550199", "Body": "HELP", "MessageStatus": "sent"}
    response = post_signed(csrf_client, path, params)
    assert response.status_code == 200
    if path == INBOUND:
        from sms.models import InboundMessage

        assert InboundMessage.objects.filter(message_sid=params["MessageSid"]).exists()
