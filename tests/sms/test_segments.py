import pytest

from sms.segments import is_gsm7, segments


class TestSegments:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("", 1),
            ("a" * 160, 1),
            ("a" * 161, 2),
            ("a" * 306, 2),
            ("a" * 307, 3),
            ("€" * 80, 1),  # two septets each: 160
            ("€" * 81, 2),
            ("é" * 160, 1),  # in GSM-7's basic table
            ("—" * 70, 1),  # not GSM-7: UCS-2
            ("—" + "a" * 70, 2),
            ("😀" * 35, 1),  # two UTF-16 units each
        ],
    )
    def test_it_counts_like_the_carriers(self, text, expected):
        assert segments(text) == expected

    def test_it_tells_gsm7_from_ucs2(self):
        assert is_gsm7("Peer-RX 4821: reply YES 4821 & Msg & data rates may apply.")
        assert not is_gsm7("Peer-RX · 4821")
        assert not is_gsm7("you’re")
