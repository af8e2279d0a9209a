"""Hostile text in every organisation, user and peer field is escaped on every page.

A staff user, a location member and an agency supervisor each crawl every page they can reach
from their home pages (portal pages, requests, roster, reports, decisions, the simulator and the
Django admin's changelists and change forms); no page may contain the raw markup.
"""

import datetime as dt
import html
import re

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.services import record_audit
from core.choices import Need
from peer_requests import services
from peer_requests.models import PeerRequest, RequestEvent, RequestStatus
from peers.models import AvailabilityOverride, CredentialType, Language
from sms.models import InboundMessage, OutboundMessage
from tests.accounts.factories import StaffUserFactory, UserFactory
from tests.agencies.factories import AgencyFactory, AgencyMembershipFactory
from tests.locations.factories import CountyFactory, LocationFactory, LocationMembershipFactory
from tests.peers.factories import AvailabilityOverrideFactory, CredentialFactory
from tests.world import eligible_peer

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PAYLOADS = (SCRIPT, IMG)
MAX_PAGES = 400
LINK = re.compile(r'(?:href|hx-get)="(/[^"]*)"')
# Leaving, or files that are not pages.
SKIP = ("/accounts/logout/", "/admin/logout/", "/static/", "/media/", "/healthz")


def hostile_user(n: int, **kwargs):
    return UserFactory(username=f"{SCRIPT}{n}", first_name=SCRIPT, last_name=IMG, phone=IMG[:32], **kwargs)


@pytest.fixture
def hostile_world(settings):
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800
    county = CountyFactory(name=SCRIPT)
    location = LocationFactory(county=county, name=SCRIPT, address=IMG)
    agency = AgencyFactory(counties=[county], name=IMG, contact_name=SCRIPT)
    staff = StaffUserFactory(username=f"{IMG}staff", first_name=IMG, last_name=SCRIPT)
    nurse = LocationMembershipFactory(location=location, user=hostile_user(1)).user
    supervisor = AgencyMembershipFactory(agency=agency, user=hostile_user(2)).user
    hostile_type = CredentialType.objects.create(code="XSS", name=SCRIPT, issuing_body=IMG, state="NY")
    Language.objects.create(code="xx", name=IMG)
    peers = [eligible_peer(agency=agency, first_name=SCRIPT, last_name=IMG) for _ in range(2)]
    CredentialFactory(peer=peers[0], type=hostile_type, number=IMG, review_note=SCRIPT)
    AvailabilityOverrideFactory(
        peer=peers[1],
        starts_at=timezone.now() - dt.timedelta(hours=1),
        ends_at=timezone.now() + dt.timedelta(hours=1),
        reason=SCRIPT,
        source=AvailabilityOverride.Source.SUPERVISOR,
    )
    now = timezone.now()
    # One request assigned (a YES, then the choice), one expired and followed up.
    assigned = services.submit_request(
        location=location,
        need=Need.SUBSTANCE_USE,
        callback_contact=SCRIPT,
        actor=nurse,
        now=now - dt.timedelta(minutes=20),
    )
    services.record_yes(alert=assigned.alerts.get(peer=peers[0]), now=now - dt.timedelta(minutes=15))
    services.complete_selection(request_id=assigned.pk, now=now - dt.timedelta(minutes=10))
    expired = services.submit_request(
        location=location,
        need=Need.SUBSTANCE_USE,
        callback_contact=IMG,
        actor=nurse,
        now=now - dt.timedelta(minutes=40),
    )
    services.complete_selection(request_id=expired.pk, now=now - dt.timedelta(minutes=30))
    services.expire(request_id=expired.pk, now=now - dt.timedelta(minutes=10))
    expired.refresh_from_db()
    assert expired.status == RequestStatus.EXPIRED
    services.record_follow_up(
        peer_request=expired, actor=staff, outcome=PeerRequest.FollowUpOutcome.values[0], note=IMG
    )
    RequestEvent.objects.create(request=assigned, kind=RequestEvent.Kind.SUBMITTED, at=now, detail=SCRIPT)
    InboundMessage.objects.create(
        message_sid="SMhostile", from_number=str(peers[0].phone), body=SCRIPT, peer=peers[0], received_at=now
    )
    OutboundMessage.objects.filter(request=assigned).update(error_message=IMG)
    record_audit(actor=staff, action="hostile", target=location, detail=SCRIPT)
    assigned.refresh_from_db()
    assert assigned.status == RequestStatus.ASSIGNED
    return {
        "staff": staff,
        "nurse": nurse,
        "supervisor": supervisor,
        "location": location,
        "agency": agency,
        "peers": peers,
        "assigned": assigned,
        "expired": expired,
    }


def crawl(client: Client, start: list[str]) -> dict[str, int]:
    """GET every same-site link reachable from ``start``; assert each HTML page escapes the payloads."""
    seen: dict[str, int] = {}
    queue = list(start)
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        path = url.partition("?")[0]
        # Admin filter and sort links multiply the changelists: one visit per admin path.
        key = path if path.startswith("/admin/") else url
        if key in seen or url.startswith(SKIP):
            continue
        response = client.get(url)
        seen[key] = response.status_code
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        content = response.content.decode()
        for payload in PAYLOADS:
            assert payload not in content, f"unescaped {payload!r} on {url}"
        queue.extend(html.unescape(link) for link in LINK.findall(content))
    return seen


def admin_pages(world) -> list[str]:
    """Every registered model's changelist, and the change form of its first object."""
    pages = []
    for model, _model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        pages.append(reverse("admin:{}_{}_changelist".format(*info)))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    return pages


def test_a_staff_user_sees_every_hostile_name_escaped(client, hostile_world):
    world = hostile_world
    client.force_login(world["staff"])
    start = [
        "/",
        "/staff/",
        "/staff/follow-ups/",
        "/requests/",
        "/reports/staff/",
        "/decisions/",
        "/sms/simulator/",
        "/admin/",
        f"/staff/follow-ups/{world['expired'].pk}/",
        f"/requests/{world['assigned'].pk}/live/",
        *admin_pages(world),
    ]
    seen = crawl(client, start)
    must = {
        f"/requests/{world['assigned'].pk}/",
        f"/sms/simulator/peer/{world['peers'][0].pk}/",
        f"/staff/follow-ups/{world['expired'].pk}/",
        f"/requests/{world['assigned'].pk}/live/",
        f"/admin/locations/location/{world['location'].pk}/change/",
        f"/admin/agencies/agency/{world['agency'].pk}/change/",
        "/admin/peers/peer/",
        "/admin/accounts/auditentry/",
    }
    assert must <= seen.keys(), must - seen.keys()
    assert [url for url, code in seen.items() if code >= 500] == []
    # The hostile text is shown (escaped), not just left out.
    page = client.get(f"/requests/{world['assigned'].pk}/").content.decode()
    assert html.escape(SCRIPT) in page


def test_a_location_member_sees_every_hostile_name_escaped(client, hostile_world):
    world = hostile_world
    client.force_login(world["nurse"])
    live = f"/requests/{world['assigned'].pk}/live/"
    seen = crawl(client, ["/", "/locations/", "/requests/", "/reports/location/", live])
    assert {f"/requests/{world['assigned'].pk}/", f"/requests/{world['expired'].pk}/", live} <= seen.keys()
    assert seen[f"/requests/{world['assigned'].pk}/"] == 200
    assert [url for url, code in seen.items() if code >= 500] == []


def test_a_supervisor_sees_every_hostile_name_escaped(client, hostile_world):
    world = hostile_world
    client.force_login(world["supervisor"])
    seen = crawl(
        client, ["/", "/agencies/", "/roster/", "/roster/available/", "/decisions/", "/reports/agency/"]
    )
    must = {f"/roster/peers/{peer.pk}/" for peer in world["peers"]} | {f"/decisions/{world['assigned'].pk}/"}
    assert must <= seen.keys(), must - seen.keys()
    assert all(seen[url] == 200 for url in must)
    assert [url for url, code in seen.items() if code >= 500] == []
    page = client.get(f"/roster/peers/{world['peers'][0].pk}/").content.decode()
    assert html.escape(IMG) in page
