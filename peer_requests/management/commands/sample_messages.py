"""Print the texts Peer-RX sends, rendered from the real templates with a sample request.

For the 10DLC campaign registration (docs/sms-and-twilio.md quotes this output, and a test
checks the quote is current). Nothing is saved or sent.
"""

import datetime as dt

from django.core.management.base import BaseCommand
from django.test.utils import override_settings

from accounts.models import County
from agencies.models import Agency
from locations.models import Location
from peer_requests import messages
from peer_requests.models import PeerRequest
from peers import consent
from peers.models import Peer

EXAMPLE_BASE_URL = "https://peer-rx.example.org"


def samples() -> list[tuple[str, str]]:
    """(what, text) for each sample message, from unsaved objects."""
    county = County(name="Orange", state="NY")
    location = Location(
        pk=7,
        name="Orange Regional ED",
        kind=Location.Kind.EMERGENCY_DEPARTMENT,
        address="707 East Main Street, Middletown, NY 10940",
        county=county,
        timezone="America/New_York",
    )
    created = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
    request = PeerRequest(
        pk=1234,
        location=location,
        code="4821",
        need="substance_use",
        callback_contact="the charge nurse, ext. 4410",
        created_at=created,
        selection_due_at=created + dt.timedelta(minutes=10),
        expires_at=created + dt.timedelta(minutes=30),
    )
    agency = Agency(name="Hudson Valley Peer Services")
    peer = Peer(first_name="Dana", last_name="Reyes", agency=agency, phone="+18455550123")
    with override_settings(
        PEERRX_PUBLIC_BASE_URL=EXAMPLE_BASE_URL, PEERRX_SUPPORT_CONTACT="info@peer-rx.com"
    ):
        return [
            ("Opt-in, when a supervisor adds the peer", consent.opt_in_request(peer=peer)),
            ("Reply to JOIN", consent.opted_in()),
            ("Reply to STOP", consent.opted_out()),
            ("Reply to HELP", messages.help_text()),
            ("Alert", messages.alert(peer_request=request)),
            ("Reminder", messages.reminder(peer_request=request)),
            ("Reply to a YES", messages.yes_recorded(peer_request=request)),
            ("Assignment confirmation", messages.confirmation(peer_request=request)),
            ("To the other YES responders", messages.filled(peer_request=request)),
            ("After DONE", messages.outcome_menu(peer_request=request)),
            ("To the location: assigned", messages.location_assigned(peer_request=request, peer=peer)),
            (
                "To the location: on the way",
                messages.location_on_the_way(peer_request=request, peer=peer, minutes=20),
            ),
            ("To the location: expired", messages.location_expired(peer_request=request)),
        ]


def as_markdown() -> str:
    return "\n".join(f"- **{what}**: {text}" for what, text in samples())


class Command(BaseCommand):
    help = "Print the texts Peer-RX sends, rendered from the real templates (for 10DLC registration)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(as_markdown())
