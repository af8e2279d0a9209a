"""axe-core (WCAG 2.1 A and AA) finds nothing on the pages the request's life now shows, at a
desktop and at a phone's size: the request form with its availability line, a live request
page with the encounter's buttons, the follow-up queue, the roster with a peer waiting for
consent and the peer's consent history, the supervisors' encounters, and the reports."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from peer_requests import services
from peers import services as roster
from tests.accounts.factories import StaffUserFactory
from tests.agencies.factories import AgencyMembershipFactory
from tests.browser.conftest import log_in
from tests.locations.factories import LocationMembershipFactory
from tests.world import make_world, seed_reference_data, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def _violations(page) -> list[str]:
    results = Axe().run(page, options=WCAG)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}x, e.g. {v['nodes'][0]['target']})"
        for v in results.response["violations"]
    ]


@pytest.mark.parametrize("size", SIZES)
def test_the_pages_of_a_requests_life_have_no_axe_violations(browser, live_server, size):
    seed_reference_data()
    world = make_world(peers=2)
    LocationMembershipFactory(location=world.location, user__username="nurse")
    AgencyMembershipFactory(agency=world.agency, user__username="supervisor")
    StaffUserFactory(username="staff")
    assigned = submit(world, at=None)
    services.record_yes(alert=assigned.alerts.get(peer=world.peers[0]))
    services.complete_selection(request_id=assigned.pk, now=assigned.selection_due_at)
    finished = submit(world, at=None)
    services.record_yes(alert=finished.alerts.get(peer=world.peers[1]))
    services.complete_selection(request_id=finished.pk, now=finished.selection_due_at)
    finished.refresh_from_db()
    services.record_finished(peer_request=finished, peer=world.peers[1])
    waiting = roster.create_peer(
        agency=world.agency,
        first_name="Dana",
        last_name="Reyes",
        phone="+18455550142",
        age_range="18_35",
        gender="female",
    )

    pages = {
        "nurse": ["/requests/new/", f"/requests/{assigned.pk}/", "/reports/"],
        "supervisor": ["/roster/", f"/roster/peers/{waiting.pk}/", "/encounters/", "/reports/"],
        "staff": ["/staff/follow-ups/", f"/requests/{assigned.pk}/"],
    }
    found = {}
    for username, paths in pages.items():
        context = browser.new_context(base_url=live_server.url, viewport=SIZES[size])
        page = context.new_page()
        log_in(page, username)
        for path in paths:
            page.goto(path)
            page.wait_for_load_state()
            violations = _violations(page)
            if violations:
                found[f"{username} {path}"] = violations
        context.close()
    assert found == {}, "\n".join(f"{where}: {v}" for where, vs in found.items() for v in vs)
