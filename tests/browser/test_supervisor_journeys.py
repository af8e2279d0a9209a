"""An agency supervisor on a phone (390×844) and at a desk (1280×800): the roster, a peer's page,
weekly hours with a window added on the spot, available now, the supervisors page and the
reports. axe-core (WCAG 2.1 A and AA) finds nothing on any page, and no page is wider than the
screen (document.documentElement.scrollWidth <= window.innerWidth)."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from core.choices import Need, OrganisationStatus
from peers.models import Credential
from peers.services import create_peer
from tests.agencies.factories import AgencyMembershipFactory
from tests.browser.conftest import SCREENSHOTS, log_in
from tests.browser.test_accessibility import _violations
from tests.peers.factories import CredentialFactory, always_available, credential_type, language
from tests.world import seed_reference_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def save_screenshot(page, name: str) -> None:
    """A full-page screenshot of this page under var/screenshots/ (the best go to docs/screenshots/)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def check_page(page, where: str, *, problems: list[str]) -> None:
    """axe's WCAG 2.1 A/AA violations on this page, and a page wider than the screen."""
    problems += [f"{where}: {violation}" for violation in _violations(page)]
    scroll_width, inner_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    if scroll_width > inner_width:
        problems.append(f"{where} scrolls sideways: {scroll_width} > {inner_width}")


@pytest.mark.parametrize("size", SIZES)
def test_a_supervisor_keeps_the_roster_and_weekly_hours_from_a_phone(browser, live_server, size):
    seed_reference_data()
    membership = AgencyMembershipFactory(
        user__username="supervisor",
        user__email="matthew.winters-supervisor@hudson-valley-peer-services.example.org",
        agency__name="Hudson Valley Peer Services",
        agency__status=OrganisationStatus.VERIFIED,
    )
    agency = membership.agency
    AgencyMembershipFactory(
        agency=agency,
        user__email="a.very.long.address.for.a.colleague@hudson-valley-peer-services.example.org",
    )
    rosa = create_peer(
        agency=agency,
        first_name="Rosa",
        last_name="Delgado-Hernández",
        phone="+18455550142",
        age_range="36_plus",
        gender="female",
        languages=[language("en"), language("es")],
    )
    CredentialFactory(peer=rosa, number="CRPA-20931")
    CredentialFactory(
        peer=rosa, number="NYCPS-55120", status=Credential.Status.PENDING, type=credential_type("NYCPS")
    )
    ready = create_peer(
        agency=agency,
        first_name="Dana",
        last_name="Reyes",
        phone="+18455550143",
        age_range="18_35",
        gender="female",
    )
    ready.consented_at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    ready.save(update_fields=["consented_at"])
    CredentialFactory(peer=ready)
    always_available(ready)

    context = browser.new_context(base_url=live_server.url, viewport=SIZES[size])
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, "supervisor")
    problems: list[str] = []

    page.goto("/roster/")
    expect(page.get_by_role("link", name="Rosa Delgado-Hernández")).to_be_visible()
    check_page(page, "roster", problems=problems)
    save_screenshot(page, f"supervisor-roster-{size}")

    page.get_by_role("link", name="Rosa Delgado-Hernández").click()
    expect(page.get_by_role("heading", name="Rosa Delgado-Hernández")).to_be_visible()
    check_page(page, "peer detail", problems=problems)
    save_screenshot(page, f"supervisor-peer-{size}")

    # Removing a credential asks first; "Keep it" keeps it.
    page.get_by_role("link", name="Remove NYCPS NYCPS-55120").click()
    expect(
        page.get_by_role("heading", name="Remove Rosa Delgado-Hernández's NYCPS credential?")
    ).to_be_visible()
    check_page(page, "remove a credential?", problems=problems)
    page.get_by_role("link", name="Keep it").click()
    assert rosa.credentials.count() == 2

    # Weekly hours: fill the three empty rows, add a fourth window on the spot, save all four.
    page.get_by_role("link", name="Edit weekly hours").click()
    day = page.get_by_label("Day of window 1", exact=True)
    assert day.bounding_box()["width"] >= 120  # the day is a usable dropdown, not just its arrow
    for row, (weekday, start, end) in enumerate(
        [("0", "08:00", "12:00"), ("1", "08:00", "12:00"), ("2", "22:00", "06:00")], start=1
    ):
        page.get_by_label(f"Day of window {row}", exact=True).select_option(weekday)
        page.get_by_label(f"Start of window {row}", exact=True).fill(start)
        page.get_by_label(f"End of window {row}", exact=True).fill(end)
    check_page(page, "weekly hours", problems=problems)
    page.get_by_role("button", name="Add another window").click()
    fourth = page.get_by_label("Day of window 4", exact=True)
    expect(fourth).to_be_focused()
    expect(page.get_by_label("Start of window 3", exact=True)).to_have_value("22:00")
    fourth.select_option("5")
    page.get_by_label("Start of window 4", exact=True).fill("09:00")
    page.get_by_label("End of window 4", exact=True).fill("17:00")
    check_page(page, "weekly hours with a fourth row", problems=problems)
    save_screenshot(page, f"supervisor-hours-{size}")
    page.get_by_role("button", name="Save weekly hours").click()
    expect(page.get_by_text("Weekly hours saved.")).to_be_visible()
    assert sorted(rosa.windows.values_list("weekday", "start")) == [
        (0, dt.time(8)),
        (1, dt.time(8)),
        (2, dt.time(22)),
        (5, dt.time(9)),
    ]

    # Available now: Dana, validated and consented, by her weekly hours.
    page.goto("/roster/available/")
    expect(page.get_by_role("link", name="Dana Reyes")).to_be_visible()
    check_page(page, "available now", problems=problems)

    for path, where in [("/agencies/", "agency home"), ("/agencies/details/", "agency details")]:
        page.goto(path)
        check_page(page, where, problems=problems)

    page.goto("/agencies/supervisors/")
    expect(page.get_by_role("heading", name="Supervisors at Hudson Valley Peer Services")).to_be_visible()
    check_page(page, "supervisors", problems=problems)

    page.goto(f"/reports/agency/?need={Need.SUBSTANCE_USE}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check_page(page, "reports", problems=problems)
    save_screenshot(page, f"supervisor-reports-{size}")
    context.close()
    assert problems == [], "\n".join(problems)
