"""The nurse's journeys in Chromium at a desktop's 1280×800 and a phone's 390×844: from the start
page to a request in three clicks without scrolling, then assignment, withdrawal and reassignment
without a reload; nobody to alert; expiry with the county's on-call numbers; the form's errors.

State changes are driven from the test through the services (with the choice and expiry times
injected) while the page polls. On every state axe-core (WCAG 2.1 A and AA) finds nothing and
the page does not scroll sideways. Screenshots of the nurse's main states are saved under
var/screenshots/ and, with PEERRX_DOCS_SCREENSHOTS=1, into docs/screenshots/ for the README.
"""

import datetime as dt
import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from peer_requests import services
from peer_requests.models import PeerRequest, RequestStatus
from tests.browser.conftest import SCREENSHOTS, log_in
from tests.locations.factories import LocationMembershipFactory
from tests.world import make_world, seed_reference_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
WAIT = {"timeout": 10_000}  # a few polls of the live partial, with room to spare
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(params=SIZES)
def sized(request, browser, live_server):
    """A page at one of the two sizes, and the size's name."""
    context = browser.new_context(base_url=live_server.url, viewport=SIZES[request.param])
    context.set_default_timeout(15_000)
    page = context.new_page()
    # Chromium reports every script or style the Content-Security-Policy blocked on the console.
    page.csp_violations = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and page.csp_violations.append(message.text)
        ),
    )
    yield page, request.param
    context.close()


def check(page, what: str) -> None:
    """axe finds nothing, and the page does not scroll sideways (at 390 px above all)."""
    results = Axe().run(page, options=WCAG)
    violations = [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}x, e.g. {v['nodes'][0]['target']})"
        for v in results.response["violations"]
    ]
    assert violations == [], f"{what}: " + "; ".join(violations)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{what} scrolls sideways: {width}"
    assert page.csp_violations == [], f"{what}: the policy blocked {page.csp_violations}"


def shoot(page, name: str, size: str) -> None:
    """What the nurse sees at a glance: the viewport, at CSS pixels."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"nurse-{name}-{size}.png"
    page.screenshot(path=str(path))
    if os.environ.get("PEERRX_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (DOCS_SCREENSHOTS / path.name).write_bytes(path.read_bytes())


def one_line(page, selector: str) -> bool:
    """The element's text sits on one line (it does not wrap)."""
    return page.evaluate(
        """(s) => { const range = document.createRange();
                    range.selectNodeContents(document.querySelector(s));
                    return Array.from(range.getClientRects()).filter(r => r.width > 0).length === 1; }""",
        selector,
    )


def headline(page):
    return page.locator("#headline")


def mark_focus(page, selector: str) -> None:
    """Focus the element and mark it (and the page): a morph that kept it keeps the mark."""
    page.locator(selector).focus()
    page.evaluate(
        "(s) => { document.querySelector(s).__kept = true; window.__notReloaded = true; }", selector
    )


def focus_kept(page) -> bool:
    return page.evaluate("document.activeElement.__kept === true && window.__notReloaded === true")


def polls(page, n: int) -> None:
    """Wait until the live partial has answered ``n`` more polls."""
    for _ in range(n):
        with page.expect_response(lambda response: "/live/" in response.url):
            pass


def test_it_takes_the_nurse_to_a_request_in_three_clicks_then_follows_withdrawal_and_reassignment(
    sized, live_server
):
    page, size = sized
    seed_reference_data()
    world = make_world(peers=3)
    LocationMembershipFactory(location=world.location, user__username="nurse")
    log_in(page, "nurse")

    # The start page: one primary action, and the navigation's main action on one line.
    page.goto("/")
    expect(page.get_by_role("heading", name=world.location.name)).to_be_visible()
    assert one_line(page, ".start-action")
    expect(page.get_by_role("link", name="Request a peer")).to_have_count(1)  # one primary action
    check(page, "start page")

    clicks = 0
    page.locator(".start-action").click()
    clicks += 1
    page.wait_for_url("**/requests/new/")
    assert one_line(page, ".nav-primary-action")  # elsewhere the navigation offers it, unwrapped
    check(page, "request form")
    page.get_by_label("Co-occurring").click()
    clicks += 1
    page.get_by_label("Who should the peer ask for?").fill("Jordan at triage, ext. 4410")
    submit = page.get_by_role("button", name="Send the request")
    box = submit.bounding_box()
    viewport = SIZES[size]
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], "submit is below the fold"
    assert page.evaluate("window.scrollY") == 0
    with page.expect_navigation():
        submit.click()
    clicks += 1
    assert clicks <= 3

    peer_request = PeerRequest.objects.get()
    assert peer_request.need == "co_occurring"
    expect(headline(page)).to_have_text("Looking for a peer. Peers are replying to the alerts.")
    check(page, "collecting")
    shoot(page, "collecting", size)

    # Focus on a button survives polls and changes: YES replies arrive while it has the focus.
    mark_focus(page, "#cancel-button")
    first, second, third = world.peers
    now = timezone.now()
    services.record_yes(alert=peer_request.alerts.get(peer=first), now=now)
    services.record_yes(alert=peer_request.alerts.get(peer=second), now=now + dt.timedelta(seconds=5))
    expect(page.locator("#count-yes")).to_have_text("2", **WAIT)
    polls(page, 2)
    assert focus_kept(page)

    # The choice: the best YES is assigned, and the page says who is coming.
    assert services.complete_selection(request_id=peer_request.pk, now=peer_request.selection_due_at)
    peer_request.refresh_from_db()
    chosen = peer_request.assigned_peer
    other = second if chosen == first else first
    expect(headline(page)).to_have_text(f"{chosen.full_name} is assigned.", **WAIT)
    expect(page.get_by_role("link", name=chosen.phone.as_national)).to_be_visible()
    check(page, "assigned")
    shoot(page, "assigned", size)

    # The chosen peer withdraws: the other YES is assigned, the page says so and keeps the focus.
    mark_focus(page, "#arrived-button")
    services.withdraw(alert=peer_request.alerts.get(peer=chosen), now=timezone.now())
    expect(headline(page)).to_have_text(
        f"{chosen.first_name} can no longer come. {other.full_name} is assigned.", **WAIT
    )
    polls(page, 1)
    assert focus_kept(page)

    # The second withdraws too: nobody else said YES, so the request looks for another peer.
    services.withdraw(alert=peer_request.alerts.get(peer=other), now=timezone.now())
    expect(headline(page)).to_have_text(
        f"{other.first_name} can no longer come — looking for another peer.", **WAIT
    )
    peer_request.refresh_from_db()
    assert peer_request.status == RequestStatus.OPEN
    check(page, "withdrawn")
    shoot(page, "withdrawn", size)

    # The third peer says YES: open, so the first YES is assigned at once.
    services.record_yes(alert=peer_request.alerts.get(peer=third), now=timezone.now())
    expect(headline(page)).to_have_text(
        f"{other.first_name} can no longer come. {third.full_name} is assigned.", **WAIT
    )
    assert page.evaluate("window.__notReloaded") is True  # every change came by polling

    # Back on the start page the request is under way and linked.
    page.goto("/")
    row = page.locator(f"#request-row-{peer_request.pk}")
    expect(row).to_contain_text(f"Request {peer_request.code}")
    expect(row).to_contain_text(third.full_name)
    check(page, "start page with a request under way")


def test_it_says_at_once_that_no_peer_is_available(sized):
    page, size = sized
    seed_reference_data()
    world = make_world(peers=0)
    LocationMembershipFactory(location=world.location, user__username="nurse")
    log_in(page, "nurse")
    page.goto("/requests/new/")
    page.get_by_label("Substance use").click()
    page.get_by_label("Who should the peer ask for?").fill("Charge nurse")
    with page.expect_navigation():
        page.get_by_role("button", name="Send the request").click()
    expect(headline(page)).to_have_text("No peer is available right now.")
    expect(page.get_by_text("What you can do:")).to_be_visible()
    expect(page.get_by_role("link", name=world.agency.phone.as_national)).to_be_visible()
    check(page, "no peer available")
    shoot(page, "no-one-available", size)


def test_it_shows_the_on_call_numbers_when_a_request_expires(sized):
    page, size = sized
    seed_reference_data()
    world = make_world(peers=1)
    membership = LocationMembershipFactory(location=world.location, user__username="nurse")
    peer_request = services.submit_request(
        location=world.location, need="substance_use", callback_contact="Charge nurse", actor=membership.user
    )
    log_in(page, "nurse")
    page.goto(f"/requests/{peer_request.pk}/")
    mark_focus(page, "#cancel-button")
    assert services.expire(request_id=peer_request.pk, now=peer_request.expires_at + dt.timedelta(seconds=1))
    expect(headline(page)).to_have_text("Expired: no peer was found in time.", **WAIT)
    expect(page.get_by_text("Peer-RX staff have been told and will follow up with you.")).to_be_visible()
    expect(page.get_by_role("link", name=world.agency.phone.as_national)).to_be_visible()
    expect(page.get_by_role("button", name="Resubmit")).to_be_visible()
    assert page.evaluate("window.__notReloaded") is True
    check(page, "expired")
    shoot(page, "expired", size)

    # The list links the expired request; its partial stops polling (nothing is live).
    page.goto("/requests/")
    expect(page.get_by_role("link", name=peer_request.code)).to_be_visible()
    check(page, "request list")


def test_the_form_sums_up_its_errors_and_moves_the_focus_there(sized):
    page, _size = sized
    seed_reference_data()
    world = make_world(peers=1)
    LocationMembershipFactory(location=world.location, user__username="nurse")
    log_in(page, "nurse")
    page.goto("/requests/new/")
    with page.expect_navigation():
        page.get_by_role("button", name="Send the request").click()
    assert page.title().startswith("Error: ")
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name="Choose the kind of support")).to_be_visible()
    check(page, "form with errors")
    summary.get_by_role("link", name="Choose the kind of support").click()
    expect(page.locator("#id_need_0")).to_be_focused()
    assert not PeerRequest.objects.exists()
