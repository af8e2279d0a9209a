"""Walk the whole URLconf: every page that is not public refuses anonymous visitors."""

import uuid

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

# Pages anyone may open, by URL name. Everything else must refuse an anonymous visitor.
PUBLIC = {
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "healthz",
    "locations:signup",
    "agencies:signup",
    "signup_sent",
    "confirm_signup",
}
# Answer only with a bearer token (404 when the token setting is empty); tests/peerrx/test_metrics.py.
TOKEN_PROTECTED = {"metrics"}
# Signed provider webhooks: anonymous by nature, refused (403) without a valid signature.
SIGNED_WEBHOOKS = {"sms:inbound": [], "sms:status": [1], "sms:status_by_provider_id": []}
SAMPLE_VALUES = {"int": "1", "str": "x", "slug": "x", "uuid": str(uuid.uuid4()), "path": "x"}


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), f"{namespace}{entry.name}" if entry.name else None


def _sample_path(route: str) -> str | None:
    """A concrete path for a route, or None for regex routes we cannot fill."""
    import re

    if route.startswith("^") or "(?P" in route:
        return None

    def fill(match):
        converter = match.group(1) or "str"
        return SAMPLE_VALUES.get(converter, "1")

    return "/" + re.sub(r"<(?:(\w+):)?\w+>", fill, route)


def all_routes():
    routes = []
    for route, name in _walk(get_resolver().url_patterns):
        if route.startswith("admin/"):
            continue  # the admin site has its own login; checked below
        if name in PUBLIC or name in SIGNED_WEBHOOKS or name in TOKEN_PROTECTED:
            continue
        path = _sample_path(route)
        if path is not None and not path.startswith("/" + settings.STATIC_URL):
            routes.append(pytest.param(path, id=name or path))
    return routes


def _refused(response) -> bool:
    login = reverse("login")
    if response.status_code == 302:
        return response.url.startswith(login) or response.url.startswith(f"{settings.LOGIN_URL}")
    return response.status_code in {403, 405}


@pytest.mark.parametrize("path", all_routes())
def test_it_refuses_anonymous_visitors(client, path):
    get = client.get(path)
    post = client.post(path, {})
    assert _refused(get) and _refused(post), (path, get.status_code, post.status_code)


def test_the_walk_finds_the_portals():
    paths = {p.values[0] for p in all_routes()}
    assert "/" in paths
    assert any(p.startswith("/requests/") for p in paths)
    assert any(p.startswith("/roster/") for p in paths)


def test_the_admin_refuses_anonymous_visitors(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


@pytest.mark.parametrize("name", sorted(SIGNED_WEBHOOKS))
def test_signed_webhooks_refuse_unsigned_posts(client, name):
    response = client.post(
        reverse(name, args=SIGNED_WEBHOOKS[name]),
        {"MessageSid": "SM1", "From": "+12125550100", "Body": "YES"},
    )
    assert response.status_code == 403
