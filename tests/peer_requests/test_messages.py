"""No protected health information by SMS: every text the messages module can produce is
rendered with marker strings in every request field, and none that could describe the
person reaches a text."""

import datetime as dt
import inspect

import pytest

from peer_requests import messages
from peers import consent
from peers.models import Language
from tests.locations.factories import CountyFactory, LocationFactory
from tests.peer_requests.factories import PeerRequestFactory
from tests.peers.factories import PeerFactory
from tests.world import T0

pytestmark = pytest.mark.django_db

# Fields that describe the person being helped (the requested peer characteristics mirror
# them) or hold free text staff typed: none may reach any text.
PERSON_MARKERS = {
    "age_range": "MKAGE",
    "gender": "MARKER-GENDER",
    "language": "MARKER-LANGUAGE",
    "follow_up_note": "MARKER-FOLLOWUP-NOTE",
    "assignment_reason": "MARKER-REASON",
}
# Whom the peer asks for at the location: a staff contact, told to the chosen peer only.
CALLBACK_MARKER = "MARKER-CALLBACK"
CALLBACK_ALLOWED = {"confirmation"}


@pytest.fixture
def marked_request():
    county = CountyFactory(name="Orange")
    location = LocationFactory(
        county=county, name="Orange Regional ED", address="707 East Main Street, Middletown, NY 10940"
    )
    language = Language.objects.create(code="zz", name=PERSON_MARKERS["language"])
    return PeerRequestFactory(
        location=location,
        code="4821",
        age_range=PERSON_MARKERS["age_range"],
        gender=PERSON_MARKERS["gender"],
        callback_contact=CALLBACK_MARKER,
        follow_up_note=PERSON_MARKERS["follow_up_note"],
        assignment_reason=PERSON_MARKERS["assignment_reason"],
        languages=[language],
    )


TEXT_MODULES = (messages, consent)


def every_text(peer_request) -> dict[str, str]:
    """Call every public function of the modules that write texts, with arguments chosen by
    parameter name."""
    peer = PeerFactory(first_name="Dana", last_name="Reyes")
    previous = PeerFactory(first_name="Lee", last_name="Park")
    arguments = {
        "peer_request": peer_request,
        "peer": peer,
        "previous_peer": previous,
        "code": "4821",
        "codes": ["4821", "1234"],
        "reason": "in_transit",
        "until": T0 + dt.timedelta(hours=8),
        "assigned_to": PeerRequestFactory(code="1234"),
        "minutes": 20,
        "kit": None,
        "what": "Peer late: location and agency told",
    }
    rendered = {}
    for module in TEXT_MODULES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or function.__module__ != module.__name__:
                continue
            if module is consent and name not in CONSENT_TEXTS:
                continue
            parameters = inspect.signature(function).parameters
            unknown = set(parameters) - set(arguments)
            assert not unknown, (
                f"{module.__name__}.{name} takes {unknown}: add them to this test's vocabulary"
            )
            rendered[name] = function(**{p: arguments[p] for p in parameters})
    return rendered


# The texts in peers.consent (the rest of it are services).
CONSENT_TEXTS = {"opt_in_request", "opted_in", "opted_out"}
# Texts that must fit one segment: short answers a peer gets at once. Everything else at most
# two (an alert names the location, its kind, town, need, code and how to reply).
ONE_SEGMENT = {
    "opted_in",
    "opted_out",
    "filled",
    "cancelled_by_location",
    "decline_reason_recorded",
    "no_such_request",
    "nothing_open",
    "bad_hours",
    "bad_eta",
    "usage",
    "unknown_number",
    "arrived_recorded",
    "eta_updated",
    "stage_already_recorded",
    "no_live_assignment",
}


class TestSegments:
    def test_every_text_is_gsm7_and_short(self, marked_request):
        from sms.segments import is_gsm7, segments

        for name, text in every_text(marked_request).items():
            if name == "supervisor_notice":
                continue  # a mail, not a text
            assert is_gsm7(text), f"{name} is not GSM-7 (sent as UCS-2, 70 characters a segment): {text}"
            most = 1 if name in ONE_SEGMENT else 2
            assert segments(text) <= most, f"{name} takes {segments(text)} segments: {text}"


class TestNoPersonalInformation:
    def test_it_renders_every_text_the_module_can_produce(self, marked_request):
        texts = every_text(marked_request)
        assert len(texts) >= 25
        assert all(isinstance(text, str) and text for text in texts.values())

    def test_nothing_that_could_describe_the_person_reaches_any_text(self, marked_request):
        for name, text in every_text(marked_request).items():
            for field, marker in PERSON_MARKERS.items():
                assert marker not in text, f"{field} leaked into messages.{name}: {text}"
            for label in ("18–35", "36+", "Female", "Male", "Non-binary"):
                assert label not in text, f"a requested characteristic leaked into messages.{name}"

    def test_the_callback_contact_goes_to_the_chosen_peer_only(self, marked_request):
        texts = every_text(marked_request)
        for name, text in texts.items():
            if name in CALLBACK_ALLOWED:
                assert CALLBACK_MARKER in text
            else:
                assert CALLBACK_MARKER not in text, f"callback contact leaked into messages.{name}"


class TestAlert:
    def test_it_says_where_what_kind_of_support_the_code_and_how_to_reply(self, marked_request):
        text = messages.alert(peer_request=marked_request)
        assert "Orange Regional ED" in text
        assert "Emergency department" in text
        assert "Middletown" in text
        assert "substance use support" in text
        assert "YES 4821" in text
        assert "NO 4821" in text
        assert len(text) <= 320  # two SMS segments at most

    def test_it_falls_back_to_the_county_when_the_address_has_no_town(self, marked_request):
        marked_request.location.address = "Route 17"
        assert "Orange County" in messages.alert(peer_request=marked_request)


class TestLocationTexts:
    def test_the_assignment_names_the_peer_and_agency_and_links_the_page(self, marked_request, settings):
        settings.PEERRX_PUBLIC_BASE_URL = "https://peer-rx.example.org"
        peer = PeerFactory(first_name="Dana", last_name="Reyes", agency__name="Hudson Valley Peer Services")
        text = messages.location_assigned(peer_request=marked_request, peer=peer)
        assert "Dana Reyes of Hudson Valley Peer Services" in text
        assert f"https://peer-rx.example.org/requests/{marked_request.pk}/" in text

    def test_the_expiry_says_how_to_resubmit(self, marked_request):
        text = messages.location_expired(peer_request=marked_request)
        assert "no peer was found" in text
        assert f"/requests/{marked_request.pk}/" in text
