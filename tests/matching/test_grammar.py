import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.grammar import DECLINE_MENU, Command, Kind, outcome_for, parse, tokens


class TestTokens:
    def test_it_splits_words_from_digits_and_drops_punctuation(self):
        assert tokens("yes#4821!") == ["YES", "4821"]
        assert tokens("  No,4821 - 2 ") == ["NO", "4821", "2"]
        assert tokens("") == []
        assert tokens(None) == []


YES_FORMS = [
    ("YES 4821", Command(Kind.YES, code="4821")),
    ("yes 4821", Command(Kind.YES, code="4821")),
    ("Y 4821", Command(Kind.YES, code="4821")),
    ("y4821", Command(Kind.YES, code="4821")),
    ("YES#4821", Command(Kind.YES, code="4821")),
    ("Yes, 4821.", Command(Kind.YES, code="4821")),
    ("  yes   4821  ", Command(Kind.YES, code="4821")),
    ("YES-4821", Command(Kind.YES, code="4821")),
    ("Yeah 4821", Command(Kind.YES, code="4821")),
    ("yes", Command(Kind.YES)),
    ("Yes!", Command(Kind.YES)),
    ("YES.", Command(Kind.YES)),
    ("y", Command(Kind.YES)),
    ("Yep", Command(Kind.YES)),
]

NO_FORMS = [
    ("NO 4821", Command(Kind.NO, code="4821")),
    ("no 4821", Command(Kind.NO, code="4821")),
    ("N 4821", Command(Kind.NO, code="4821")),
    ("no#4821", Command(Kind.NO, code="4821")),
    ("NO 4821 2", Command(Kind.NO, code="4821", reason="in_transit")),
    ("no 4821, 5", Command(Kind.NO, code="4821", reason="other")),
    ("no", Command(Kind.NO)),
    ("Nope.", Command(Kind.NO)),
    ("no 3", Command(Kind.NO, reason="off_shift")),
]

MENU_FORMS = [(str(i), Command(Kind.DECLINE_REASON, reason=DECLINE_MENU[i - 1][0])) for i in range(1, 6)] + [
    (" 4. ", Command(Kind.DECLINE_REASON, reason="personal")),
]

AVAILABILITY_FORMS = [
    ("ON", Command(Kind.ON, hours=8)),
    ("on", Command(Kind.ON, hours=8)),
    ("On!", Command(Kind.ON, hours=8)),
    ("ON 3", Command(Kind.ON, hours=3)),
    ("OFF", Command(Kind.OFF, hours=8)),
    ("off", Command(Kind.OFF, hours=8)),
    ("OFF 4", Command(Kind.OFF, hours=4)),
    ("off4", Command(Kind.OFF, hours=4)),
    ("OFF 4h", Command(Kind.OFF, hours=4)),
    ("off 12 hours", Command(Kind.OFF, hours=12)),
    ("OFF 1", Command(Kind.OFF, hours=1)),
    ("OFF 72", Command(Kind.OFF, hours=72)),
    ("OFF 0", Command(Kind.BAD_HOURS)),
    ("OFF 73", Command(Kind.BAD_HOURS)),
    ("OFF 500", Command(Kind.BAD_HOURS)),
    ("ON 0", Command(Kind.BAD_HOURS)),
]

OTHER_FORMS = [
    ("CANCEL 4821", Command(Kind.WITHDRAW, code="4821")),
    ("cancel#4821", Command(Kind.WITHDRAW, code="4821")),
    ("Cancel 4821.", Command(Kind.WITHDRAW, code="4821")),
    ("HELP", Command(Kind.HELP)),
    ("help?", Command(Kind.HELP)),
    ("info", Command(Kind.HELP)),
]

OPT_FORMS = [
    (word, Command(Kind.OPT_OUT)) for word in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
] + [
    ("stop", Command(Kind.OPT_OUT)),
    ("Stop.", Command(Kind.OPT_OUT)),
    ("stop all", Command(Kind.OPT_OUT)),
    ("cancel", Command(Kind.OPT_OUT)),
    ("Opt-out", Command(Kind.OPT_OUT)),
    ("START", Command(Kind.OPT_IN)),
    ("start", Command(Kind.OPT_IN)),
    ("UNSTOP", Command(Kind.OPT_IN)),
]

UNKNOWN_FORMS = [
    "",
    "   ",
    "?!",
    "hello",
    "4821",
    "6",
    "0",
    "yes 482",
    "yes 48211",
    "yes 4821 4822",
    "yes I can't go",
    "no 4821 9",
    "no 4821 2 3",
    "maybe 4821",
    "off tomorrow",
    "cancel 12",
    "stop 4821",
    "start 4821",
    "help me",
    "on call",
]


class TestParse:
    @pytest.mark.parametrize(("body", "expected"), YES_FORMS)
    def test_it_reads_every_yes_form(self, body, expected):
        assert parse(body) == expected

    @pytest.mark.parametrize(("body", "expected"), NO_FORMS)
    def test_it_reads_every_no_form(self, body, expected):
        assert parse(body) == expected

    @pytest.mark.parametrize(("body", "expected"), MENU_FORMS)
    def test_it_reads_a_bare_menu_digit_as_a_decline_reason(self, body, expected):
        assert parse(body) == expected

    @pytest.mark.parametrize(("body", "expected"), AVAILABILITY_FORMS)
    def test_it_reads_on_and_off_with_hours_between_1_and_72(self, body, expected):
        assert parse(body) == expected

    @pytest.mark.parametrize(("body", "expected"), OTHER_FORMS)
    def test_it_reads_cancel_with_a_code_and_help(self, body, expected):
        assert parse(body) == expected

    @pytest.mark.parametrize(("body", "expected"), OPT_FORMS)
    def test_it_reads_carrier_opt_out_and_opt_in_keywords_as_the_whole_message(self, body, expected):
        assert parse(body) == expected

    @pytest.mark.parametrize("body", UNKNOWN_FORMS)
    def test_it_refuses_anything_else(self, body):
        assert parse(body) == Command(Kind.UNKNOWN)

    def test_it_maps_the_menu_to_the_alert_decline_reasons(self):
        from peer_requests.models import Alert

        assert [value for value, _label in DECLINE_MENU] == [
            Alert.DeclineReason.WITH_ANOTHER_PERSON,
            Alert.DeclineReason.IN_TRANSIT,
            Alert.DeclineReason.OFF_SHIFT,
            Alert.DeclineReason.PERSONAL,
            Alert.DeclineReason.OTHER,
        ]

    @given(st.text(max_size=40))
    def test_it_never_raises_and_always_answers_a_command(self, body):
        command = parse(body)
        assert isinstance(command, Command)
        if command.code is not None:
            assert len(command.code) == 4
            assert command.code.isdigit()

    @given(st.sampled_from(["YES", "yes", "Y", "y"]), st.integers(1000, 9999), st.sampled_from(" #:-.,!"))
    def test_it_reads_yes_with_any_separator(self, word, code, separator):
        assert parse(f"{word}{separator}{code}") == Command(Kind.YES, code=str(code))


ENCOUNTER_FORMS = [
    ("OMW 4821", Command(Kind.ON_MY_WAY, code="4821")),
    ("omw 4821 20", Command(Kind.ON_MY_WAY, code="4821", minutes=20)),
    ("OMW 4821 20 min", Command(Kind.ON_MY_WAY, code="4821", minutes=20)),
    ("On my way 4821, 15 mins!", Command(Kind.ON_MY_WAY, code="4821", minutes=15)),
    ("omw", Command(Kind.ON_MY_WAY)),
    ("OMW 20", Command(Kind.ON_MY_WAY, minutes=20)),
    ("omw 240", Command(Kind.ON_MY_WAY, minutes=240)),
    ("OMW 1", Command(Kind.ON_MY_WAY, minutes=1)),
    ("HERE 4821", Command(Kind.ARRIVED, code="4821")),
    ("here", Command(Kind.ARRIVED)),
    ("Arrived 4821.", Command(Kind.ARRIVED, code="4821")),
    ("DONE 4821", Command(Kind.DONE, code="4821")),
    ("done!", Command(Kind.DONE)),
    ("finished 4821", Command(Kind.DONE, code="4821")),
    ("1Y", Command(Kind.OUTCOME, outcome="engaged", kit=True)),
    ("2 n", Command(Kind.OUTCOME, outcome="declined", kit=False)),
    ("3 yes", Command(Kind.OUTCOME, outcome="referred", kit=True)),
    ("4, no", Command(Kind.OUTCOME, outcome="left", kit=False)),
]
BAD_ENCOUNTER_FORMS = [
    ("OMW 0", Command(Kind.BAD_ETA)),
    ("omw 4821 241", Command(Kind.BAD_ETA)),
    ("OMW 4821 20 30", Command(Kind.UNKNOWN)),
    ("OMW soon", Command(Kind.UNKNOWN)),
    ("HERE 12", Command(Kind.UNKNOWN)),
    ("here 4821 now", Command(Kind.UNKNOWN)),
    ("DONE 4821 4822", Command(Kind.UNKNOWN)),
    ("5Y", Command(Kind.UNKNOWN)),
    ("0 N", Command(Kind.UNKNOWN)),
]


class TestEncounterReplies:
    @pytest.mark.parametrize(("body", "expected"), ENCOUNTER_FORMS)
    def test_it_reads_on_my_way_here_done_and_the_outcome(self, body, expected):
        assert parse(body) == expected

    @pytest.mark.parametrize(("body", "expected"), BAD_ENCOUNTER_FORMS)
    def test_it_refuses_bad_forms(self, body, expected):
        assert parse(body) == expected

    def test_a_bare_digit_stays_the_no_menu_answer_for_the_replies_to_decide(self):
        assert parse("2") == Command(Kind.DECLINE_REASON, reason="in_transit")
        assert outcome_for(2) == "declined"
        assert outcome_for(5) is None

    def test_on_still_means_available(self):
        assert parse("ON 4") == Command(Kind.ON, hours=4)


MUST_OPT_OUT = [
    "please stop",
    "Stop texting me",
    "stop texting me please",
    "stop sending these",
    "STOP THE TEXTS",
    "stop messaging me!",
    "unsubscribe please",
    "Please unsubscribe me",
    "remove me",
    "remove me from this list",
    "I want to opt out",
    "take me off",
    "take me off your list",
    "don't text me",
    "do not text me again",
    "no more texts",
    "no more alerts please",
    "leave me alone",
    "wrong number",
]
MUST_NOT_OPT_OUT = [
    "YES 4821",
    "NO 4821",
    "no",
    "I can't stop by today",
    "stop by later",
    "non stop",
    "stopped",
    "bus stop",
    "OMW 4821",
    "HERE",
    "DONE 4821",
    "CANCEL 4821",
    "1Y",
    "help",
]


class TestPlainWordStop:
    @pytest.mark.parametrize("body", MUST_OPT_OUT)
    def test_plain_words_opt_out(self, body):
        assert parse(body) == Command(Kind.OPT_OUT, natural=True)

    @pytest.mark.parametrize("body", MUST_NOT_OPT_OUT)
    def test_other_texts_do_not(self, body):
        assert parse(body).kind != Kind.OPT_OUT

    @pytest.mark.parametrize(
        "body", ["STOP", "stop", "Stop!", "STOP ALL", "unsubscribe", "CANCEL", "quit", "end"]
    )
    def test_the_carrier_keywords_stay_keywords(self, body):
        assert parse(body) == Command(Kind.OPT_OUT)

    @pytest.mark.parametrize("body", ["JOIN", "join!", "Start", "UNSTOP"])
    def test_join_start_and_unstop_opt_in(self, body):
        assert parse(body) == Command(Kind.OPT_IN)


class TestLongNumbers:
    @pytest.mark.parametrize(
        "body", ["OFF " + "9" * 4400, "OMW " + "4" * 4400, "1" * 4400, "YES " + "4" * 12]
    )
    def test_a_huge_number_is_a_word_no_command_knows(self, body):
        assert parse(body).kind in (Kind.UNKNOWN,)
