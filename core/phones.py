"""The one phone-number normaliser: forms, the SMS webhook and peer lookup all read numbers here.

Numbers are stored in E.164 (``+18455550123``). Text without ``+`` is read in
``PHONENUMBER_DEFAULT_REGION``, so "(845) 555-0123" and "845.555.0123" are the same number.
"""

from __future__ import annotations

from phonenumber_field.phonenumber import PhoneNumber, to_python


def parse(value: str | PhoneNumber | None) -> PhoneNumber | None:
    """The valid phone number ``value`` spells, or None (also for text that is no number)."""
    if value is None:
        return None
    number = to_python(value)
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        return None
    return number


def lookup_key(value: str) -> str | None:
    """What a stored number equal to ``value`` looks like, for finding who texted.

    A valid number in E.164. Text already in E.164 form that the numbering plan does not know
    (fictional and test ranges such as +1 555…) is taken as it came, since it can only match a
    number stored the same way. Anything else is no number: None.
    """
    number = parse(value)
    if number is not None:
        return number.as_e164
    value = value.strip()
    if value.startswith("+") and value[1:].isdigit():
        return value
    return None
