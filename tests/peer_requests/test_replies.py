import datetime as dt

import pytest
from freezegun import freeze_time

from peer_requests import services
from peer_requests.models import Alert, PeerRequest, RequestEvent, RequestStatus
from peers.models import AvailabilityOverride
from sms.models import InboundMessage, OutboundMessage
from sms.services import handle_inbound_message
from tests.world import T0, inbound, make_world, submit

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)
SELECTION = dt.timedelta(minutes=10)
EXPIRY = dt.timedelta(minutes=30)


@pytest.fixture(autouse=True)
def _windows(settings):
    settings.PEERRX_SELECTION_SECONDS = 600
    settings.PEERRX_EXPIRY_SECONDS = 1800
    settings.PEERRX_SUPPORT_CONTACT = "help@peer-rx.test"


@pytest.fixture
def world():
    return make_world(peers=2)


def reply(peer, body, at=T0 + MINUTE):
    message = inbound(peer, body, at=at)
    text = handle_inbound_message(inbound_id=message.pk, now=at)
    message.refresh_from_db()
    return text, message


def alert_of(peer_request, peer) -> Alert:
    return Alert.objects.get(request=peer_request, peer=peer)


class TestHandleInboundBookkeeping:
    def test_it_marks_the_message_handled_with_the_peer_and_outcome(self, world):
        peer_request = submit(world)
        peer = world.peers[0]
        text, message = reply(peer, f"YES {peer_request.code}")
        assert message.peer == peer
        assert message.outcome == "yes_recorded"
        assert message.handled_at == T0 + MINUTE
        assert text

    def test_it_acts_once_on_the_same_message_handled_twice(self, world):
        peer_request = submit(world)
        peer = world.peers[0]
        message = inbound(peer, f"YES {peer_request.code}")
        first = handle_inbound_message(inbound_id=message.pk, now=T0 + MINUTE)
        second = handle_inbound_message(
            inbound_id=InboundMessage.objects.get(pk=message.pk).pk, now=T0 + 2 * MINUTE
        )
        assert first is not None
        assert second is None
        assert peer_request.events.filter(kind=RequestEvent.Kind.REPLY_YES).count() == 1
        assert alert_of(peer_request, peer).responded_at == T0  # when it arrived, not when handled

    def test_an_unknown_number_gets_a_neutral_reply_and_nothing_happens(self, world):
        peer_request = submit(world)
        text, message = reply("+15005550006", f"YES {peer_request.code}")
        assert text == "This number is not registered with Peer-RX."
        assert message.peer is None
        assert message.outcome == "unknown_number"
        assert not Alert.objects.filter(response=Alert.Response.YES).exists()
        # One neutral reply a day to a number that is not a peer's: no loop with an auto-responder.
        text, message = reply("+15005550006", "STOP")
        assert text is None
        assert message.outcome == "unknown_number_silenced"


class TestYes:
    @pytest.mark.parametrize("form", ["YES {code}", "Y {code}", "yes#{code}", "Yes, {code}!", "y{code}"])
    def test_it_records_a_yes_with_a_code_in_any_form(self, world, form):
        peer_request = submit(world)
        peer = world.peers[0]
        text, _message = reply(peer, form.format(code=peer_request.code))
        assert alert_of(peer_request, peer).response == Alert.Response.YES
        assert "your YES is in" in text
        assert "10:10 AM" in text  # the choice, in the location's time zone

    @pytest.mark.parametrize("form", ["yes", "Yes!", "Y", "YES."])
    def test_a_bare_yes_counts_when_the_peer_has_exactly_one_open_alert(self, world, form):
        peer_request = submit(world)
        peer = world.peers[0]
        text, _ = reply(peer, form)
        assert alert_of(peer_request, peer).response == Alert.Response.YES
        assert "your YES is in" in text

    def test_a_bare_yes_with_two_open_alerts_asks_which_code(self, world):
        first = submit(world)
        second = submit(world, at=T0 + MINUTE)
        peer = world.peers[0]
        text, message = reply(peer, "yes", at=T0 + 2 * MINUTE)
        assert first.code in text
        assert second.code in text
        assert "Reply with the code" in text
        assert message.outcome == "yes_ambiguous"
        assert not Alert.objects.filter(peer=peer, response=Alert.Response.YES).exists()

    def test_a_bare_yes_without_any_open_alert_says_so(self, world):
        text, _message = reply(world.peers[0], "YES")
        assert text == "Peer-RX: you have no open requests right now."

    def test_a_yes_with_a_code_the_peer_was_not_sent(self, world):
        submit(world)
        text, message = reply(world.peers[0], "YES 0000")
        assert text == "Peer-RX: we sent you no request 0000. Check the code in the alert."
        assert message.outcome == "yes_unknown_code"

    def test_a_second_yes_is_acknowledged_once(self, world):
        peer_request = submit(world)
        peer = world.peers[0]
        reply(peer, f"YES {peer_request.code}")
        text, message = reply(peer, f"YES {peer_request.code}", at=T0 + 2 * MINUTE)
        assert "we already have your YES" in text
        assert message.outcome == "yes_already_recorded"

    def test_the_first_yes_in_the_open_window_is_assigned_and_gets_the_confirmation(self, world):
        peer_request = submit(world)
        services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
        winner, loser = world.peers
        text, message = reply(winner, f"YES {peer_request.code}", at=T0 + 12 * MINUTE)
        assert text is None  # the confirmation is its own message
        assert message.outcome == "assigned"
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.ASSIGNED
        assert peer_request.assigned_peer == winner
        confirmation = OutboundMessage.objects.get(kind=OutboundMessage.Kind.CONFIRMATION, peer=winner)
        assert "Charge nurse, ext. 4410" in confirmation.body
        text, message = reply(loser, f"YES {peer_request.code}", at=T0 + 13 * MINUTE)
        assert text == f"Peer-RX {peer_request.code}: this request has been filled. Thank you for saying YES!"
        assert message.outcome == "filled"

    def test_the_assigned_peer_saying_yes_again_is_reminded_how_to_withdraw(self, world):
        peer_request = submit(world)
        peer = world.peers[0]
        reply(peer, f"YES {peer_request.code}")
        services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
        text, _ = reply(peer, "yes", at=T0 + 11 * MINUTE)
        assert text == "Peer-RX: you have no open requests right now."
        text, _ = reply(peer, f"YES {peer_request.code}", at=T0 + 11 * MINUTE)
        assert f"Reply CANCEL {peer_request.code}" in text

    @pytest.mark.parametrize("closing", ["expire", "cancel"])
    def test_a_yes_to_a_closed_request_says_it_is_closed(self, world, closing):
        peer_request = submit(world)
        if closing == "expire":
            services.expire(request_id=peer_request.pk, now=T0 + EXPIRY)
        else:
            services.cancel_request(peer_request=peer_request, actor=None, now=T0 + MINUTE)
        text, message = reply(world.peers[0], f"YES {peer_request.code}", at=T0 + EXPIRY + MINUTE)
        assert text == f"Peer-RX: request {peer_request.code} is closed. Thank you!"
        assert message.outcome == "closed"
        assert alert_of(peer_request, world.peers[0]).response == ""

    def test_a_yes_after_expiry_whose_task_has_not_run_finds_it_closed(self, world):
        peer_request = submit(world)
        text, _ = reply(world.peers[0], f"YES {peer_request.code}", at=T0 + EXPIRY)
        assert "is closed" in text
        peer_request.refresh_from_db()
        assert peer_request.status == RequestStatus.EXPIRED

    def test_a_yes_quoting_an_old_closed_code_prefers_the_live_request(self, world):
        old = submit(world)
        services.expire(request_id=old.pk, now=T0 + EXPIRY)
        new = submit(world, at=T0 + EXPIRY + MINUTE)
        # Codes are unique among live requests only: the new one may reuse the old code.
        PeerRequest.objects.filter(pk=new.pk).update(code=old.code)
        text, _ = reply(world.peers[0], f"YES {old.code}", at=T0 + EXPIRY + 2 * MINUTE)
        assert "your YES is in" in text
        assert alert_of(new, world.peers[0]).response == Alert.Response.YES


class TestNo:
    def test_a_no_gets_the_menu_and_the_answer_is_stored(self, world):
        peer_request = submit(world)
        peer = world.peers[0]
        text, message = reply(peer, f"NO {peer_request.code}")
        assert "1 with another person, 2 in transit, 3 off shift, 4 personal, 5 other" in text
        alert = alert_of(peer_request, peer)
        assert (alert.response, alert.decline_reason) == (Alert.Response.NO, "")
        text, message = reply(peer, "2", at=T0 + 2 * MINUTE)
        assert text == "Peer-RX: thanks, noted (in transit)."
        assert message.outcome == "decline_reason"
        alert.refresh_from_db()
        assert alert.decline_reason == Alert.DeclineReason.IN_TRANSIT

    def test_a_no_with_the_reason_in_one_text(self, world):
        peer_request = submit(world)
        peer = world.peers[0]
        text, _ = reply(peer, f"NO {peer_request.code} 3")
        assert text == "Peer-RX: thanks, noted (off shift)."
        assert alert_of(peer_request, peer).decline_reason == Alert.DeclineReason.OFF_SHIFT

    def test_a_bare_no_with_one_open_alert(self, world):
        peer_request = submit(world)
        text, _ = reply(world.peers[0], "No")
        assert "What's keeping you?" in text
        assert alert_of(peer_request, world.peers[0]).response == Alert.Response.NO

    def test_a_bare_no_with_two_open_alerts_asks_which_code(self, world):
        submit(world)
        submit(world)
        text, message = reply(world.peers[0], "no")
        assert "Reply with the code" in text
        assert message.outcome == "no_ambiguous"

    def test_a_menu_answer_without_a_recent_no_is_not_understood(self, world):
        submit(world)
        text, message = reply(world.peers[0], "4")
        assert "no recent NO" in text
        assert message.outcome == "decline_reason_unexpected"

    def test_a_menu_answer_long_after_the_no_is_not_attached_to_it(self, world):
        peer_request = submit(world)
        peer = world.peers[0]
        reply(peer, f"NO {peer_request.code}")
        reply(peer, "1", at=T0 + dt.timedelta(hours=3))
        assert alert_of(peer_request, peer).decline_reason == ""

    def test_the_assigned_peer_saying_no_is_told_to_cancel(self, world):
        peer_request = submit(world)
        peer = world.peers[0]
        reply(peer, f"YES {peer_request.code}")
        services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
        text, _ = reply(peer, f"NO {peer_request.code}", at=T0 + 11 * MINUTE)
        assert f"CANCEL {peer_request.code}" in text
        assert alert_of(peer_request, peer).is_assigned

    def test_a_no_to_a_closed_request_says_it_is_closed(self, world):
        peer_request = submit(world)
        services.expire(request_id=peer_request.pk, now=T0 + EXPIRY)
        text, _ = reply(world.peers[0], f"NO {peer_request.code}", at=T0 + EXPIRY)
        assert "is closed" in text


class TestAvailability:
    def test_on_makes_the_peer_available_for_8_hours(self, world):
        peer = world.peers[0]
        text, message = reply(peer, "ON")
        override = AvailabilityOverride.objects.get(peer=peer)
        assert override.is_available is True
        assert override.source == AvailabilityOverride.Source.SMS
        assert (override.starts_at, override.ends_at) == (T0 + MINUTE, T0 + MINUTE + dt.timedelta(hours=8))
        assert "you're ON" in text
        assert "6:01 PM" in text  # 8 hours later in the agency's time zone
        assert message.outcome == "on"

    def test_off_makes_the_peer_unavailable_for_8_hours_or_the_hours_given(self, world):
        peer = world.peers[0]
        text, _ = reply(peer, "OFF")
        first = AvailabilityOverride.objects.get(peer=peer)
        assert first.is_available is False
        assert first.ends_at - first.starts_at == dt.timedelta(hours=8)
        assert "you're OFF" in text
        text, _ = reply(peer, "off 4", at=T0 + 2 * MINUTE)
        newest = AvailabilityOverride.objects.filter(peer=peer).order_by("-id").first()
        assert newest.ends_at - newest.starts_at == dt.timedelta(hours=4)
        assert "2:02 PM" in text

    def test_off_takes_the_peer_out_of_the_next_alert(self, world):
        peer = world.peers[0]
        reply(peer, "OFF 2")
        peer_request = submit(world, at=T0 + 2 * MINUTE)
        assert not peer_request.alerts.filter(peer=peer).exists()
        assert peer_request.alerts.count() == 1

    def test_off_with_hours_out_of_range_changes_nothing(self, world):
        text, _message = reply(world.peers[0], "OFF 100")
        assert text == "Peer-RX: ON and OFF take 1 to 72 hours, e.g. OFF 4."
        assert not AvailabilityOverride.objects.exists()


class TestWithdraw:
    def test_the_assigned_peer_withdraws_with_cancel_and_the_code(self, world):
        peer_request = submit(world)
        first, second = world.peers
        reply(first, f"YES {peer_request.code}")
        reply(second, f"YES {peer_request.code}", at=T0 + 2 * MINUTE)
        services.complete_selection(request_id=peer_request.pk, now=T0 + SELECTION)
        peer_request.refresh_from_db()
        leaving = peer_request.assigned_peer
        text, message = reply(leaving, f"CANCEL {peer_request.code}", at=T0 + 12 * MINUTE)
        assert text == f"Peer-RX {peer_request.code}: you've withdrawn. Thanks for letting us know."
        assert message.outcome == "withdrawn_reassigned"
        peer_request.refresh_from_db()
        assert peer_request.assigned_peer not in (None, leaving)

    def test_cancel_from_a_peer_who_is_not_assigned(self, world):
        peer_request = submit(world)
        text, message = reply(world.peers[0], f"CANCEL {peer_request.code}")
        assert "you're not assigned" in text
        assert message.outcome == "not_assigned"
        text, _ = reply(world.peers[0], "CANCEL 0000")
        assert "no request 0000" in text


class TestKeywords:
    def test_help_names_the_programme_the_contact_and_how_to_opt_out(self, world):
        text, message = reply(world.peers[0], "HELP")
        assert "Peer-RX" in text
        assert "help@peer-rx.test" in text
        assert "STOP" in text
        assert message.outcome == "help"

    @pytest.mark.parametrize("word", ["STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QUIT"])
    def test_carrier_opt_out_words_opt_the_peer_out(self, world, word):
        peer = world.peers[0]
        text, message = reply(peer, word)
        peer.refresh_from_db()
        assert peer.opted_out_at == T0 + MINUTE
        assert "unsubscribed" in text
        assert message.outcome == "opted_out"
        assert not submit(world, at=T0 + 2 * MINUTE).alerts.filter(peer=peer).exists()

    @pytest.mark.parametrize("word", ["START", "unstop"])
    def test_start_opts_the_peer_back_in(self, world, word):
        peer = world.peers[0]
        reply(peer, "STOP")
        text, message = reply(peer, word, at=T0 + 2 * MINUTE)
        peer.refresh_from_db()
        assert peer.opted_out_at is None
        assert "subscribed to peer support alerts" in text and "Msg & data rates may apply" in text
        assert message.outcome == "opted_in"

    @pytest.mark.parametrize("body", ["hello?", "maybe later", "", "4821", "yes I can't"])
    def test_anything_else_gets_a_one_line_usage_hint(self, world, body):
        peer_request = submit(world)
        text, message = reply(world.peers[0], body)
        assert text == "Peer-RX: reply YES 1234 or NO 1234 with the alert's code, ON, OFF, or HELP."
        assert "\n" not in text
        assert message.outcome == "unknown"
        assert alert_of(peer_request, world.peers[0]).response == ""


class TestThroughTheWebhook:
    """The whole path: Twilio's signed POST → sms webhook → replies.handle_text → queued reply."""

    def post(self, client, params):
        from sms.transport import sign

        url = "http://testserver/sms/inbound/"
        return client.post("/sms/inbound/", params, HTTP_X_TWILIO_SIGNATURE=sign(url=url, params=params))

    def test_a_duplicate_delivery_of_one_message_sid_is_stored_once_and_acted_on_once(
        self, client, world, inbound_worker
    ):
        peer_request = submit(world)
        peer = world.peers[0]
        params = {
            "MessageSid": "SM" + "a" * 32,
            "From": str(peer.phone),
            "To": "+15005550001",
            "Body": f"Yes {peer_request.code}",
        }
        with freeze_time(T0 + MINUTE), inbound_worker():
            first = self.post(client, params)
            second = self.post(client, params)
        assert first.status_code == second.status_code == 200
        assert InboundMessage.objects.filter(message_sid=params["MessageSid"]).count() == 1
        assert peer_request.events.filter(kind=RequestEvent.Kind.REPLY_YES).count() == 1
        assert alert_of(peer_request, peer).response == Alert.Response.YES
        [answer] = OutboundMessage.objects.filter(kind=OutboundMessage.Kind.REPLY, to=str(peer.phone))
        assert "your YES is in" in answer.body


class TestPassiveReplyLimits:
    """An auto-responder must not start a loop: replies nobody asked for are limited per number."""

    @pytest.fixture(autouse=True)
    def _limits(self, settings):
        settings.PEERRX_PASSIVE_REPLIES_PER_HOUR = 3
        settings.PEERRX_PASSIVE_REPLIES_PER_DAY = 5

    def test_a_few_hints_an_hour_then_silence_and_a_few_a_day(self, world):
        peer = world.peers[0]
        answers = [reply(peer, "hello?", at=T0 + n * MINUTE)[0] for n in range(5)]
        assert [bool(answer) for answer in answers] == [True, True, True, False, False]
        _text, silenced = reply(peer, "hello?", at=T0 + 5 * MINUTE)
        assert silenced.outcome == "unknown_silenced" and silenced.handled_at is not None
        # An hour on, the hourly allowance is back, until the day's five are spent.
        later = [reply(peer, "hi", at=T0 + 61 * MINUTE + n * MINUTE)[0] for n in range(4)]
        assert [bool(answer) for answer in later] == [True, True, False, False]
        assert (
            OutboundMessage.objects.filter(kind=OutboundMessage.Kind.REPLY, to=str(peer.phone)).count() == 5
        )

    def test_real_commands_are_always_answered(self, world):
        peer = world.peers[0]
        for n in range(4):
            reply(peer, "hello?", at=T0 + n * MINUTE)
        text, _message = reply(peer, "HELP", at=T0 + 5 * MINUTE)
        assert "Msg & data rates may apply" in text

    def test_an_unknown_number_gets_one_neutral_reply_a_day(self, world):
        assert reply("+15005550006", "hi", at=T0)[0]
        assert reply("+15005550006", "hi", at=T0 + dt.timedelta(hours=23))[0] is None
        assert reply("+15005550006", "hi", at=T0 + dt.timedelta(hours=25))[0]
