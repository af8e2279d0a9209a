import datetime as dt

import pytest

from demo import selectors
from tests.agencies.factories import AgencyFactory
from tests.locations.factories import LocationFactory
from tests.peers.factories import PeerFactory
from tests.sms.factories import T0, InboundMessageFactory, OutboundMessageFactory

pytestmark = pytest.mark.django_db

PHONE = "+12125550177"


class TestPhoneInbox:
    def test_it_merges_both_directions_newest_first(self, django_assert_num_queries):
        OutboundMessageFactory(to=PHONE, body="alert", created_at=T0)
        InboundMessageFactory(from_number=PHONE, body="YES 4821", received_at=T0 + dt.timedelta(seconds=30))
        OutboundMessageFactory(to=PHONE, body="confirmed", created_at=T0 + dt.timedelta(seconds=60))
        OutboundMessageFactory(to="+12125550000", body="not this phone")
        InboundMessageFactory(from_number="+12125550000", body="nor this")
        with django_assert_num_queries(2):
            inbox = selectors.phone_inbox(phone=PHONE)
        assert [(e.body, e.incoming) for e in inbox] == [
            ("confirmed", True),
            ("YES 4821", False),
            ("alert", True),
        ]

    def test_it_puts_an_answer_above_the_text_it_answers_at_the_same_instant(self):
        InboundMessageFactory(from_number=PHONE, body="HELP", received_at=T0)
        OutboundMessageFactory(to=PHONE, body="Peer-RX help", created_at=T0)
        assert [e.body for e in selectors.phone_inbox(phone=PHONE)] == ["Peer-RX help", "HELP"]

    def test_it_keeps_the_newest_up_to_the_limit(self):
        for minute in range(4):
            OutboundMessageFactory(
                to=PHONE, body=f"out {minute}", created_at=T0 + dt.timedelta(minutes=minute)
            )
            InboundMessageFactory(
                from_number=PHONE,
                body=f"in {minute}",
                received_at=T0 + dt.timedelta(minutes=minute, seconds=1),
            )
        assert [e.body for e in selectors.phone_inbox(phone=PHONE, limit=3)] == ["in 3", "out 3", "in 2"]

    def test_it_shows_failures_with_their_code(self):
        OutboundMessageFactory(to=PHONE, status="failed", error_code="21610", error_message="Opted out.")
        [entry] = selectors.phone_inbox(phone=PHONE)
        assert entry.status_label == "Failed"
        assert entry.error == "21610 Opted out."


class TestSimulatorPeers:
    def test_it_searches_names_phones_and_agencies(self):
        agency = AgencyFactory(name="Hudson Valley Peer Services")
        by_name = PeerFactory(first_name="Marisol", last_name="Diaz")
        by_phone = PeerFactory(phone="+12125559876")
        by_agency = PeerFactory(agency=agency)
        assert list(selectors.simulator_peers(query="marisol")) == [by_name]
        assert list(selectors.simulator_peers(query="9876")) == [by_phone]
        assert list(selectors.simulator_peers(query="hudson")) == [by_agency]
        assert selectors.simulator_peers(query="  ").count() == 3


class TestSimulatorLocations:
    def test_it_searches_names(self):
        wanted = LocationFactory(name="Orange Regional ED")
        LocationFactory(name="Elsewhere Clinic")
        assert list(selectors.simulator_locations(query="orange")) == [wanted]


class TestOutcomeLabel:
    @pytest.mark.parametrize(
        ("code", "label"),
        [
            ("assigned", "Assigned to this peer"),
            ("withdrawn_reopened", "Withdrew: the request is open again"),
            ("bad_hours_silenced", "Hours not understood (no reply: too many unasked-for replies)"),
            ("something_new", "something new"),
        ],
    )
    def test_it_says_an_outcome_in_words(self, code, label):
        assert selectors.outcome_label(code) == label

    def test_every_outcome_the_reply_handler_returns_has_words(self):
        from peer_requests.services import EncounterOutcomeRecorded, NoOutcome, WithdrawOutcome, YesOutcome

        codes = {
            str(o)
            for enum in (YesOutcome, NoOutcome, WithdrawOutcome, EncounterOutcomeRecorded)
            for o in enum
        }
        assert codes - set(selectors.OUTCOME_LABELS) == set()

    def test_every_passive_outcome_has_words(self):
        from peer_requests.replies import PASSIVE_OUTCOMES

        assert PASSIVE_OUTCOMES - set(selectors.OUTCOME_LABELS) == set()
