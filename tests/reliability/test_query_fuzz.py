"""No hostile GET parameter makes any page answer 5xx, for any role.

Walks the URLconf (``get_resolver``), fills each pattern's arguments with the world's objects, and
as Peer-RX staff, a location member, an agency supervisor and an anonymous visitor GETs every
page with hostile values: in every parameter at once, and (on the pages the role may see) in each
parameter alone. The parameters are a few every page might read, those of the page's own GET
forms (found in its HTML) and, for the admin's changelists, the lookups of their filters and date
hierarchy.
"""

from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.admin.filters import SimpleListFilter
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from peer_requests.models import SWEEPER_HEARTBEAT, Heartbeat
from tests.reliability.test_hostile_names import hostile_world  # noqa: F401 - the fixture

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

HOSTILE = (
    "0001-01-01",
    "9999-12-30",
    "0026-01-05",  # a two-digit year typed into a date field
    "2026-02-30",
    "\x00",
    "x" * 10_000,
    "-1",
    "nan",
    "1e309",
    "99999999999999999999",
)
# One at a time, the values most likely to reach a date, a number or a search (NUL is refused
# with 400 before any view runs, whatever the parameter).
ALONE = ("0001-01-01", "9999-12-30", "x" * 10_000, "99999999999999999999")
PORTAL_PARAMETERS = ("start", "end", "page", "q", "status", "county")
ADMIN_PARAMETERS = ("q", "o", "p", "e", "_changelist_filters")
GENERIC = PORTAL_PARAMETERS + ADMIN_PARAMETERS
# Pages that are not pages: leaving, and the webhooks (POST only, signed).
SKIP_NAMES = {"logout", "admin:logout", "sms:inbound", "sms:status", "sms:status_by_provider_id"}


class GetFormFields(HTMLParser):
    """The names of the fields of every ``<form method="get">`` on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self._in_get_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self._in_get_form = (values.get("method") or "get").lower() == "get"
        elif self._in_get_form and tag in {"input", "select", "textarea"} and values.get("name"):
            self.names.add(values["name"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_get_form = False


def patterns(resolver: URLResolver = None, namespace: str = "") -> list[tuple[str, URLPattern]]:
    """(namespaced name, pattern) of every named page outside the admin (walked separately)."""
    resolver = resolver or get_resolver()
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found.extend(patterns(entry, inner))
        elif entry.name:
            found.append((f"{namespace}{entry.name}", entry))
    return found


def arguments(name: str, pattern: URLPattern, world: dict) -> dict | None:
    """The kwargs for a page, from the world; None when the page takes ones the world lacks."""
    peer = world["peers"][0]
    credential = peer.credentials.first()
    by_name = {
        "peers:credential_edit": credential.pk,
        "peers:credential_remove": credential.pk,
        "peers:credential_document": credential.pk,
        "peers:override_end": world["peers"][1].overrides.first().pk,
        "locations:staff_deactivate": world["nurse"].pk,
        "locations:staff_reactivate": world["nurse"].pk,
        "agencies:supervisor_deactivate": world["supervisor"].pk,
        "agencies:supervisor_reactivate": world["supervisor"].pk,
        "staff:record_follow_up": world["expired"].pk,
    }
    by_namespace = {"peers": peer.pk, "peer_requests": world["assigned"].pk}
    by_keyword = {
        "peer_id": peer.pk,
        "location_id": world["location"].pk,
        "uidb64": "MQ",
        "token": "set-password",
    }
    kwargs = {}
    for keyword in pattern.pattern.converters:
        if keyword in by_keyword:
            kwargs[keyword] = by_keyword[keyword]
        elif name in by_name:
            kwargs[keyword] = by_name[name]
        elif name.partition(":")[0] in by_namespace:
            kwargs[keyword] = by_namespace[name.partition(":")[0]]
        else:
            kwargs[keyword] = world["assigned"].pk  # decisions, encounters
    return kwargs


def admin_filter_parameters(model_admin) -> set[str]:
    """The query parameters a changelist's filters and date hierarchy read."""
    names = set()
    for item in model_admin.list_filter:
        if isinstance(item, type) and issubclass(item, SimpleListFilter):
            names.add(item.parameter_name)
            continue
        field = item[0] if isinstance(item, tuple) else item
        names |= {f"{field}__exact", f"{field}__id__exact", f"{field}__gte"}
    if model_admin.date_hierarchy:
        names |= {f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")}
    return names | {"id__exact", "pk__in"}


def pages(world: dict) -> list[tuple[str, set[str]]]:
    """Every page's path with the parameters to try on it one at a time (with its GET forms')."""
    found = []
    for name, pattern in patterns():
        if name in SKIP_NAMES:
            continue
        found.append((reverse(name, kwargs=arguments(name, pattern, world)), set(PORTAL_PARAMETERS)))
    found.append((reverse("admin:index"), set()))
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        changelist = reverse("admin:{}_{}_changelist".format(*info))
        found.append((changelist, set(ADMIN_PARAMETERS) | admin_filter_parameters(model_admin)))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            found.append((reverse("admin:{}_{}_change".format(*info), args=[first.pk]), set()))
    return found


def fuzz(client: Client, world: dict) -> tuple[list[str], int]:
    """Every (page, parameters) that answered 5xx, and how many requests were made."""
    client.raise_request_exception = False
    failures, requests = [], 0

    def get(path: str, params: dict[str, str]) -> int:
        nonlocal requests
        requests += 1
        # A savepoint per request: a database error in one leaves the next a working connection.
        with transaction.atomic():
            status = client.get(path, params).status_code
            if status >= 500:
                transaction.set_rollback(True)
                shown = {
                    key: (value[:20] + "…" if len(value) > 20 else value) for key, value in params.items()
                }
                failures.append(f"{status} {path} {shown!r}")
        return status

    for path, own in pages(world):
        baseline = client.get(path)
        if baseline.status_code >= 500:
            failures.append(f"{baseline.status_code} {path} (no parameters)")
            continue
        names = set(own)
        if baseline.status_code == 200 and "text/html" in baseline.get("Content-Type", ""):
            parser = GetFormFields()
            parser.feed(baseline.content.decode())
            names |= parser.names
        for value in HOSTILE:
            get(path, dict.fromkeys(names | set(GENERIC), value))
        if baseline.status_code != 200:
            continue  # a redirect to the login page, a 403 or 404: nothing reads the parameters
        for name in sorted(names):
            for value in ALONE:
                get(path, {name: value})
    return failures, requests


@pytest.mark.parametrize("role", ["staff", "nurse", "supervisor", "anonymous"])
def test_no_hostile_query_parameter_makes_a_page_fail(client, hostile_world, role):  # noqa: F811
    Heartbeat.objects.create(name=SWEEPER_HEARTBEAT, beat_at=timezone.now())  # /healthz answers 200
    if role != "anonymous":
        client.force_login(hostile_world[role])
    failures, requests = fuzz(client, hostile_world)
    assert requests > 300
    assert failures == [], "\n".join(failures)
