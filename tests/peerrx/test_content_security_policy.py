"""The Content-Security-Policy: on every response, and no template needs what it forbids
(an inline script body or an inline event handler)."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.locations.factories import LocationMembershipFactory

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# <script ...>body</script> with something other than whitespace inside.
INLINE_SCRIPT = re.compile(r"<script\b[^>]*>(?P<body>.*?)</script>", re.IGNORECASE | re.DOTALL)
# onclick=, onsubmit= ... as an HTML attribute (after whitespace, inside a tag).
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL)


@pytest.mark.django_db
def test_it_sends_the_policy_on_a_page(client):
    membership = LocationMembershipFactory()
    client.force_login(membership.user)
    response = client.get(reverse("locations:home"))
    policy = {
        part.strip().split(" ", 1)[0]: part.strip().split(" ", 1)[1:]
        for part in response["Content-Security-Policy"].split(";")
        if part.strip()
    }
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert "unsafe" not in response["Content-Security-Policy"]


def test_it_sends_the_policy_on_the_login_page(client):
    assert "default-src 'self'" in client.get(reverse("login"))["Content-Security-Policy"]


def test_no_template_has_an_inline_script_or_event_handler():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for match in INLINE_SCRIPT.finditer(text):
            if match.group("body").strip():
                found.append(f"{path.relative_to(TEMPLATES)}: inline <script>")
        if EVENT_HANDLER.search(text):
            found.append(f"{path.relative_to(TEMPLATES)}: on*= attribute")
    assert found == []


def test_the_checks_find_what_they_look_for():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>").group("body")
    assert not INLINE_SCRIPT.search('<script src="/static/js/peerrx.js"></script>').group("body").strip()
    assert EVENT_HANDLER.search('<form method="post" onsubmit="return confirm()">')
    assert not EVENT_HANDLER.search('<form method="post" data-confirm="Sure?">')
