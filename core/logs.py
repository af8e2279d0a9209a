"""A logging filter that keeps phone numbers and text bodies out of the logs.

Logs travel further than the database (aggregators, support tickets): a peer's number is shown
as ``+1******0101`` and, unless DEBUG is on, a text's body (logged as an ``SmsBody``) as its length
only. Attached to every handler in ``settings.LOGGING``.
"""

import logging
import re

from django.conf import settings

# E.164: a plus, a country code and up to 15 digits in all.
E164 = re.compile(r"\+([1-9])(\d{4,10})(\d{4})\b")


class SmsBody(str):
    """A text's body as a log argument: the filter withholds it unless DEBUG is on."""

    __slots__ = ()


def mask_phone_numbers(text: str) -> str:
    return E164.sub(lambda match: f"+{match[1]}{'*' * len(match[2])}{match[3]}", text)


def _withheld(value: object) -> object:
    if isinstance(value, SmsBody) and not settings.DEBUG:
        return f"[text of {len(value)} characters]"
    return value


class MaskPhoneNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_withheld(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _withheld(arg) for key, arg in record.args.items()}
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed call: the handler reports it as logging does
        # The record is shared by every handler: each, and any added later, sees it masked.
        record.msg, record.args = mask_phone_numbers(message), ()
        return True
