"""Bodies larger than any page takes are refused unread; NUL characters are refused with 400."""

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from tests.accounts.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


class Tripwire:
    """A request body that records every read."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        self.read_bytes += max(size, 0)
        return b"x" * max(size, 0)

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def test_it_refuses_an_anonymous_200_mib_multipart_post_without_reading_it(client):
    body = Tripwire()
    response = client.generic(
        "POST",
        reverse("login"),
        b"",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(200 * 1024 * 1024),
        **{"wsgi.input": body},
    )
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert body.read_bytes == 0


def test_it_answers_a_body_within_the_bound(client, settings):
    response = client.post(reverse("login"), {"username": "a", "password": "b"})
    assert response.status_code == 200


def test_it_refuses_a_content_length_that_is_not_a_number(client):
    response = client.generic("POST", reverse("login"), b"", CONTENT_LENGTH="lots")
    assert response.status_code == 400


@pytest.mark.parametrize("query", ["q=%00", "id__exact=%00", "%00=1", "q=abc%00def"])
def test_it_refuses_nul_in_an_admin_lookup(client, query):
    client.force_login(StaffUserFactory())
    response = client.get(f"/admin/accounts/user/?{query}")
    assert response.status_code == 400


@pytest.mark.parametrize("encoded", [True, False])
def test_it_refuses_nul_in_a_form_post(client, encoded):
    data = {"username": "staff\x00", "password": "b"}
    if encoded:
        response = client.post(
            reverse("login"), urlencode(data), content_type="application/x-www-form-urlencoded"
        )
    else:
        response = client.post(reverse("login"), data)  # multipart
    assert response.status_code == 400


@pytest.mark.parametrize("value", ["99999999999999999999", "nan", "-1"])
def test_it_refuses_a_date_hierarchy_part_that_is_not_a_short_number(client, value):
    client.force_login(StaffUserFactory())
    response = client.get("/admin/accounts/auditentry/", {"at__year": value})
    assert response.status_code == 400


def test_it_lets_the_admin_date_hierarchy_work(client):
    client.force_login(StaffUserFactory())
    assert (
        client.get("/admin/accounts/auditentry/", {"at__year": "2026", "at__month": "1"}).status_code == 200
    )


def test_it_lets_the_admin_search_for_ordinary_words(client):
    client.force_login(StaffUserFactory())
    assert client.get("/admin/accounts/user/?q=smith").status_code == 200
