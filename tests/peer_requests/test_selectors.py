import datetime as dt

import pytest

from peer_requests import selectors
from peer_requests.models import Alert, PeerRequest, RequestStatus
from sms.models import OutboundMessage, OutboundStatus
from tests.accounts.factories import StaffUserFactory, UserFactory
from tests.agencies.factories import AgencyMembershipFactory
from tests.locations.factories import LocationMembershipFactory
from tests.peer_requests.factories import AlertFactory, PeerRequestFactory
from tests.peers.factories import PeerFactory
from tests.world import T0

pytestmark = pytest.mark.django_db


class TestVisibleRequests:
    def test_it_scopes_by_role(self):
        membership = LocationMembershipFactory()
        mine = PeerRequestFactory(location=membership.location)
        other = PeerRequestFactory()
        assert list(selectors.visible_requests(user=membership.user)) == [mine]
        assert set(selectors.visible_requests(user=StaffUserFactory())) == {mine, other}
        assert not selectors.visible_requests(user=AgencyMembershipFactory().user).exists()
        assert not selectors.visible_requests(user=UserFactory()).exists()


class TestRequestList:
    def test_it_filters_and_counts_in_one_query(self, django_assert_num_queries):
        request = PeerRequestFactory()
        AlertFactory.create_batch(2, request=request, response=Alert.Response.YES)
        AlertFactory(request=request)
        PeerRequestFactory(status=RequestStatus.EXPIRED)
        with django_assert_num_queries(1):
            rows = list(selectors.request_list(queryset=PeerRequest.objects.all(), status="active"))
            assert [(r.pk, r.alert_count, r.yes_count, r.location.name) for r in rows] == [
                (request.pk, 3, 2, request.location.name)
            ]


class TestRequestProgress:
    def test_it_counts_replies_and_alert_texts_in_two_queries(self, django_assert_num_queries):
        request = PeerRequestFactory()
        yes = AlertFactory(request=request, response=Alert.Response.YES)
        AlertFactory(request=request, response=Alert.Response.NO)
        AlertFactory(request=request)
        for alert, status in [(yes, OutboundStatus.DELIVERED), (None, OutboundStatus.FAILED)]:
            OutboundMessage.objects.create(
                to="+15005550006",
                body="x",
                kind=OutboundMessage.Kind.ALERT,
                request=request,
                alert=alert,
                status=status,
                next_attempt_at=T0,
                created_at=T0,
            )
        with django_assert_num_queries(2):
            progress = selectors.request_progress(peer_request=request)
        assert (progress.alerts, progress.delivered, progress.failed) == (3, 1, 1)
        assert (progress.yes, progress.no, progress.no_reply) == (1, 1, 1)


class TestResponders:
    def test_ranked_replies_come_first_then_by_reply_time(self):
        request = PeerRequestFactory()
        late = AlertFactory(
            request=request, response=Alert.Response.YES, responded_at=T0 + dt.timedelta(minutes=5)
        )
        early = AlertFactory(
            request=request, response=Alert.Response.YES, responded_at=T0 + dt.timedelta(minutes=1)
        )
        ranked = AlertFactory(
            request=request, response=Alert.Response.YES, responded_at=T0 + dt.timedelta(minutes=9), rank=1
        )
        AlertFactory(request=request, response=Alert.Response.NO)
        assert list(selectors.responders(peer_request=request)) == [ranked, early, late]


class TestReplyLookups:
    def test_alert_for_code_prefers_the_live_request(self):
        peer = PeerFactory()
        old = AlertFactory(peer=peer, request=PeerRequestFactory(code="4821", status=RequestStatus.EXPIRED))
        assert selectors.alert_for_code(peer=peer, code="4821") == old
        live = AlertFactory(peer=peer, request=PeerRequestFactory(code="4821"))
        assert selectors.alert_for_code(peer=peer, code="4821") == live
        assert selectors.alert_for_code(peer=PeerFactory(), code="4821") is None

    def test_alert_for_code_prefers_the_assignment_over_an_old_closed_request(self):
        peer = PeerFactory()
        assigned = AlertFactory(
            peer=peer,
            is_assigned=True,
            request=PeerRequestFactory(
                code="4821", status=RequestStatus.ASSIGNED, assigned_peer=peer, created_at=T0
            ),
        )
        AlertFactory(
            peer=peer,
            request=PeerRequestFactory(
                code="4821", status=RequestStatus.EXPIRED, created_at=T0 + dt.timedelta(days=1)
            ),
        )
        assert selectors.alert_for_code(peer=peer, code="4821") == assigned

    def test_open_alerts_are_those_of_live_requests_not_withdrawn(self):
        peer = PeerFactory()
        first = AlertFactory(peer=peer, request=PeerRequestFactory(created_at=T0))
        second = AlertFactory(
            peer=peer,
            request=PeerRequestFactory(status=RequestStatus.OPEN, created_at=T0 + dt.timedelta(minutes=1)),
        )
        AlertFactory(peer=peer, request=PeerRequestFactory(status=RequestStatus.EXPIRED))
        AlertFactory(peer=peer, request=PeerRequestFactory(status=RequestStatus.OPEN), withdrawn_at=T0)
        assert selectors.open_alerts_for_peer(peer=peer) == [first, second]

    def test_awaiting_decline_reason_is_the_latest_recent_no_without_a_reason(self):
        peer = PeerFactory()
        AlertFactory(peer=peer, response=Alert.Response.NO, responded_at=T0)
        newest = AlertFactory(
            peer=peer, response=Alert.Response.NO, responded_at=T0 + dt.timedelta(minutes=2)
        )
        AlertFactory(
            peer=peer,
            response=Alert.Response.NO,
            responded_at=T0 + dt.timedelta(minutes=3),
            decline_reason="other",
        )
        assert selectors.awaiting_decline_reason(peer=peer, since=T0) == newest
        assert selectors.awaiting_decline_reason(peer=peer, since=T0 + dt.timedelta(minutes=5)) is None


class TestMostRequestedLanguages:
    def test_it_puts_the_languages_asked_for_most_first_then_by_name(self, django_assert_num_queries):
        from peers.models import Language
        from tests.peers.factories import language

        spanish, french = language("es"), language("fr")
        for codes in (["es"], ["es", "fr"], ["fr"], ["es"]):
            PeerRequestFactory().languages.set([language(code) for code in codes])
        with django_assert_num_queries(1):
            ids = selectors.most_requested_languages(limit=4)
        never_asked = list(
            Language.objects.exclude(pk__in=[spanish.pk, french.pk])
            .order_by("name")
            .values_list("pk", flat=True)
        )[:2]
        assert ids == [spanish.pk, french.pk, *never_asked]


class TestOnCallAgencies:
    def test_it_lists_the_verified_agencies_serving_the_county_with_their_phones(self):
        from core.choices import OrganisationStatus
        from tests.accounts.factories import CountyFactory
        from tests.agencies.factories import AgencyFactory
        from tests.locations.factories import LocationFactory

        county = CountyFactory(name="Ulster")
        location = LocationFactory(county=county)
        serving = AgencyFactory(name="B Peers", counties=[county])
        also = AgencyFactory(name="A Peers", counties=[county, CountyFactory(name="Dutchess")])
        AgencyFactory(name="Pending", counties=[county], status=OrganisationStatus.PENDING)
        AgencyFactory(name="Elsewhere", counties=[CountyFactory(name="Putnam")])
        assert selectors.on_call_agencies(location=location) == [
            selectors.OnCall(name="A Peers", phone=also.phone),
            selectors.OnCall(name="B Peers", phone=serving.phone),
        ]


def _rows(**asked):
    """A stored breakdown with the given components asked for: True met, False not met."""
    return {
        "rows": [
            {"component": name, "points": 10.0 if met else 0.0, "asked": True} for name, met in asked.items()
        ]
        + [{"component": "gender", "points": 0.0, "asked": False}] * ("gender" not in asked)
    }


class TestUnmetPreferences:
    def test_it_says_what_the_chosen_peer_does_not_meet(self):
        from tests.peers.factories import language

        peer_request = PeerRequestFactory(gender="female", age_range="36_plus")
        peer_request.languages.set([language("es"), language("fr")])
        alert = AlertFactory(
            request=peer_request, score_breakdown=_rows(language=False, gender=False, age_range=True)
        )
        assert selectors.unmet_preferences(peer_request=peer_request, alert=alert) == [
            selectors.Unmet(what="French or Spanish", advice="arrange an interpreter"),
            selectors.Unmet(what="a female peer"),
        ]

    def test_it_reads_the_pre_score_when_the_choice_stored_none_and_ignores_what_was_not_asked(self):
        peer_request = PeerRequestFactory()
        alert = AlertFactory(request=peer_request, prescore_breakdown=_rows(age_range=True))
        assert selectors.unmet_preferences(peer_request=peer_request, alert=alert) == []
        assert selectors.unmet_preferences(peer_request=peer_request, alert=None) == []


class TestLastReplacement:
    def test_it_follows_withdrawals_and_assignments_in_the_order_written(self):
        from peer_requests.models import RequestEvent
        from tests.peer_requests.factories import RequestEventFactory

        peer_request = PeerRequestFactory()
        first, second = PeerFactory(first_name="Dana"), PeerFactory(first_name="Sam")
        kinds = RequestEvent.Kind

        def write(kind, peer, minutes):
            return RequestEventFactory(
                request=peer_request, kind=kind, peer=peer, at=T0 + dt.timedelta(minutes=minutes)
            )

        events = [write(kinds.ASSIGNED, first, 10)]
        assert selectors.last_replacement(events=events) is None
        events.append(write(kinds.WITHDRAWN, first, 5))  # an earlier time, written later
        assert selectors.last_replacement(events=events) == selectors.Replacement(
            first_name="Dana", replaced=False
        )
        events.append(write(kinds.ASSIGNED, second, 6))
        assert selectors.last_replacement(events=events) == selectors.Replacement(
            first_name="Dana", replaced=True
        )
        events.append(write(kinds.NOT_COME, second, 7))
        assert selectors.last_replacement(events=events) == selectors.Replacement(
            first_name="Sam", replaced=False
        )
