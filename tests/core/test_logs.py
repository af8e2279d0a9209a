"""Logs show phone numbers masked and leave text bodies out unless DEBUG is on."""

import logging

import pytest
from django.conf import settings as django_settings

from core.logs import MaskPhoneNumbers, SmsBody, mask_phone_numbers
from sms import transport


def _record(msg: str, *args) -> logging.LogRecord:
    return logging.LogRecord("sms", logging.INFO, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("to +18455550101 failed", "to +1******0101 failed"),
        ("+447700900123", "+4*******0123"),
        ("two: +18455550101, +12125550199.", "two: +1******0101, +1******0199."),
        ("request 12345 at 2026-01-05", "request 12345 at 2026-01-05"),
    ],
)
def test_it_masks_e164_numbers(text, masked):
    assert mask_phone_numbers(text) == masked


def test_it_masks_numbers_in_arguments_and_withholds_bodies(settings):
    settings.DEBUG = False
    record = _record("SMS to %s: %s", "+18455550101", SmsBody("YES 4821 call me at +12125550199"))
    assert MaskPhoneNumbers().filter(record) is True
    assert record.getMessage() == "SMS to +1******0101: [text of 32 characters]"


def test_it_shows_bodies_in_debug_but_still_masks_numbers(settings):
    settings.DEBUG = True
    record = _record("SMS to %s: %s", "+18455550101", SmsBody("YES 4821"))
    MaskPhoneNumbers().filter(record)
    assert record.getMessage() == "SMS to +1******0101: YES 4821"


def test_it_leaves_a_malformed_call_to_logging(settings):
    record = _record("two %s %s", "only one")
    assert MaskPhoneNumbers().filter(record) is True
    assert record.args == ("only one",)


def test_every_handler_in_the_settings_masks():
    handlers = django_settings.LOGGING["handlers"]
    assert handlers
    assert all("mask_phone_numbers" in handler.get("filters", []) for handler in handlers.values())


@pytest.mark.django_db  # the console backend reports the text's delivery once it commits
def test_a_console_text_is_logged_masked_and_without_its_body(caplog, settings):
    settings.DEBUG = False
    with caplog.at_level(logging.INFO, logger="sms.transport"):
        transport._send_console(
            transport.Outgoing(message_id=1, to="+18455550101", body="Request 4821: reply YES")
        )
    assert "+1******0101" in caplog.text
    assert "+18455550101" not in caplog.text
    assert "reply YES" not in caplog.text
