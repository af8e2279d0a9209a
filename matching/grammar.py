"""The peers' SMS reply grammar: text in, one ``Command`` out. Pure: no database, no clock.

Case-insensitive and tolerant of punctuation and spacing: the body is cut into words and
numbers ("YES#4821", "yes 4821!", "Y4821" all read as YES 4821; "OMW 4821 20" is on my way,
about 20 minutes; "1Y" answers the menu after DONE). Opt-out and opt-in keywords
count only when they are the whole message, as carriers and Twilio treat them; so "CANCEL 4821"
withdraws from a request while a bare "CANCEL" unsubscribes.
"""

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    YES = "yes"
    NO = "no"
    DECLINE_REASON = "decline_reason"  # a bare 1..5 answering the NO menu
    ON = "on"
    OFF = "off"
    WITHDRAW = "withdraw"  # CANCEL <code>
    HELP = "help"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    BAD_HOURS = "bad_hours"  # ON/OFF with hours outside 1..72
    ON_MY_WAY = "on_my_way"  # OMW [code] [minutes]
    BAD_ETA = "bad_eta"  # OMW with minutes outside 1..240
    ARRIVED = "arrived"  # HERE [code]
    DONE = "done"  # DONE [code]
    OUTCOME = "outcome"  # the DONE menu answered with a kit answer, e.g. "1Y"
    UNKNOWN = "unknown"


# The NO menu, in the order peers see it; the digit is the position.
DECLINE_MENU = (
    ("with_another_person", "with another person"),
    ("in_transit", "in transit"),
    ("off_shift", "off shift"),
    ("personal", "personal"),
    ("other", "other"),
)
# A menu answer ("2") refers to the peer's latest NO within this long.
DECLINE_MENU_WINDOW = dt.timedelta(hours=2)

# The menu after DONE: how the encounter ended, in the order peers see it. Codes only: nothing
# about the person is ever asked or stored.
OUTCOME_MENU = (
    ("engaged", "engaged with support"),
    ("declined", "declined support"),
    ("referred", "referred to treatment"),
    ("left", "patient left or unavailable"),
)
# The DONE menu is answered within this long of DONE.
OUTCOME_MENU_WINDOW = dt.timedelta(hours=2)

YES_WORDS = frozenset({"YES", "Y", "YEAH", "YEP", "YA", "YS", "YE", "YESS"})
NO_WORDS = frozenset({"NO", "N", "NOPE", "NAH"})
HELP_WORDS = frozenset({"HELP", "INFO"})
# Twilio's default opt-out keywords plus the two Advanced Opt-Out adds.
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "JOIN"})
# Saying stop in plain words: any reasonable way of revoking consent counts (FCC, 2025). Each
# pattern runs over the whole upper-cased text with punctuation removed.
NATURAL_STOP = tuple(
    re.compile(pattern)
    for pattern in (
        r"^(PLEASE )?STOP( IT| NOW| PLEASE| ALL)?$",
        r"\bSTOP (TEXTING|MESSAGING|SENDING|CONTACTING|TEXT|MESSAGE|TXT)\w*( ME| US)?\b",
        r"\bSTOP (THE |THESE |ALL )?(TEXTS|MESSAGES|ALERTS|SMS)\b",
        r"\bUNSUBSCRIBE\b",
        r"\bOPT ?OUT\b",
        r"\bREMOVE ME\b",
        r"\bTAKE ME OFF\b",
        r"\bDO ?N ?T (TEXT|MESSAGE|CONTACT|SMS) ME\b",
        r"\bDO NOT (TEXT|MESSAGE|CONTACT|SMS) ME\b",
        r"\bNO MORE (TEXTS|MESSAGES|ALERTS)\b",
        r"\bLEAVE ME ALONE\b",
        r"\bWRONG NUMBER\b",
    )
)
HOUR_WORDS = frozenset({"H", "HR", "HRS", "HOUR", "HOURS"})
MINUTE_WORDS = frozenset({"M", "MIN", "MINS", "MINUTE", "MINUTES"})
OMW_WORDS = frozenset({"OMW", "ONMYWAY"})
ARRIVED_WORDS = frozenset({"HERE", "ARRIVED"})
DONE_WORDS = frozenset({"DONE", "FINISHED"})

# ON and OFF last 8 hours unless the peer says how many (1..72), e.g. "OFF 4".
ON_HOURS = 8
OFF_DEFAULT_HOURS = 8
MAX_HOURS = 72
# An ETA with OMW, in minutes.
MAX_ETA_MINUTES = 240

_TOKEN = re.compile(r"[A-Z]+|\d+")
_CODE = re.compile(r"\d{4}")


@dataclass(frozen=True)
class Command:
    kind: Kind
    code: str | None = None
    hours: int | None = None
    reason: str | None = None  # an Alert.DeclineReason value
    minutes: int | None = None  # OMW's ETA
    outcome: str | None = None  # an OUTCOME_MENU code
    kit: bool | None = None  # a naloxone kit given (Y) or not (N)
    natural: bool = False  # an opt-out said in plain words rather than a keyword


# No reply needs more digits than this (a code has 4): a longer run is a word no command knows,
# never a number to convert (Python refuses to read over 4,300 digits).
MAX_DIGITS = 6
LONG_NUMBER = "LONGNUMBER"


def tokens(body: str) -> list[str]:
    """Upper-cased words and digit runs; everything else separates them. A digit run longer than
    MAX_DIGITS becomes ``LONG_NUMBER``."""
    return [
        LONG_NUMBER if token.isdigit() and len(token) > MAX_DIGITS else token
        for token in _TOKEN.findall((body or "").upper())
    ]


def _code(token: str) -> str | None:
    return token if _CODE.fullmatch(token) else None


def _reason(token: str) -> str | None:
    if token.isdigit() and 1 <= int(token) <= len(DECLINE_MENU):
        return DECLINE_MENU[int(token) - 1][0]
    return None


def outcome_for(number: int) -> str | None:
    """The DONE menu's code for the digit a peer texted, or None."""
    return OUTCOME_MENU[number - 1][0] if 1 <= number <= len(OUTCOME_MENU) else None


def _on_my_way(rest: list[str]) -> Command:
    rest = rest[:-1] if rest and rest[-1] in MINUTE_WORDS else rest
    code = _code(rest[0]) if rest else None
    if code:
        rest = rest[1:]
    if not rest:
        return Command(Kind.ON_MY_WAY, code=code)
    if len(rest) == 1 and rest[0].isdigit():
        minutes = int(rest[0])
        if 1 <= minutes <= MAX_ETA_MINUTES:
            return Command(Kind.ON_MY_WAY, code=code, minutes=minutes)
        return Command(Kind.BAD_ETA)
    return Command(Kind.UNKNOWN)


def _compact(body: str) -> str:
    """The body without spaces or punctuation, for whole-message keywords ("STOP ALL", "Opt-out")."""
    return "".join(tokens(body))


def parse(body: str) -> Command:
    words = tokens(body)
    if not words:
        return Command(Kind.UNKNOWN)
    head, rest = words[0], words[1:]
    compact = _compact(body)

    if compact in OPT_OUT_WORDS:
        return Command(Kind.OPT_OUT)
    plain = " ".join(words)
    if any(pattern.search(plain) for pattern in NATURAL_STOP):
        return Command(Kind.OPT_OUT, natural=True)
    if compact in OPT_IN_WORDS:
        return Command(Kind.OPT_IN)
    if compact in HELP_WORDS:
        return Command(Kind.HELP)

    if head in YES_WORDS:
        if not rest:
            return Command(Kind.YES)
        if len(rest) == 1 and _code(rest[0]):
            return Command(Kind.YES, code=rest[0])
        return Command(Kind.UNKNOWN)

    if head in NO_WORDS:
        if not rest:
            return Command(Kind.NO)
        if len(rest) == 1 and _reason(rest[0]):
            return Command(Kind.NO, reason=_reason(rest[0]))
        code = _code(rest[0])
        if code and len(rest) == 1:
            return Command(Kind.NO, code=code)
        if code and len(rest) == 2 and _reason(rest[1]):
            return Command(Kind.NO, code=code, reason=_reason(rest[1]))
        return Command(Kind.UNKNOWN)

    if len(words) == 1 and _reason(head):
        return Command(Kind.DECLINE_REASON, reason=_reason(head))
    if len(words) == 2 and head.isdigit() and outcome_for(int(head)) and rest[0] in YES_WORDS | NO_WORDS:
        return Command(Kind.OUTCOME, outcome=outcome_for(int(head)), kit=rest[0] in YES_WORDS)

    if head in OMW_WORDS:
        return _on_my_way(rest)
    if words[:3] == ["ON", "MY", "WAY"]:
        return _on_my_way(words[3:])
    for kind, wording in ((Kind.ARRIVED, ARRIVED_WORDS), (Kind.DONE, DONE_WORDS)):
        if head in wording:
            if not rest:
                return Command(kind)
            if len(rest) == 1 and _code(rest[0]):
                return Command(kind, code=rest[0])
            return Command(Kind.UNKNOWN)

    if head in ("ON", "OFF"):
        kind = Kind.ON if head == "ON" else Kind.OFF
        if not rest:
            return Command(kind, hours=ON_HOURS if kind == Kind.ON else OFF_DEFAULT_HOURS)
        if rest[0].isdigit() and (len(rest) == 1 or (len(rest) == 2 and rest[1] in HOUR_WORDS)):
            hours = int(rest[0])
            if 1 <= hours <= MAX_HOURS:
                return Command(kind, hours=hours)
            return Command(Kind.BAD_HOURS)
        return Command(Kind.UNKNOWN)

    if head == "CANCEL" and len(rest) == 1 and _code(rest[0]):
        return Command(Kind.WITHDRAW, code=rest[0])

    return Command(Kind.UNKNOWN)
