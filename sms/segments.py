"""How many SMS segments a text takes, as carriers count them.

GSM-7 texts fit 160 characters in one segment and 153 per segment when split; the characters
of GSM's extension table (``^{}\\[~]|€`` and form feed) take two. A text with any character
outside GSM-7 is sent as UCS-2: 70 characters in one segment, 67 per segment when split.
Twilio's limit for one message is 1,600 characters.
"""

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENDED for char in text)


def segments(text: str) -> int:
    """The number of segments ``text`` is sent in (1 for an empty text)."""
    if is_gsm7(text):
        length = sum(2 if char in GSM7_EXTENDED else 1 for char in text)
        single, multi = 160, 153
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if length <= single:
        return 1
    return -(-length // multi)
