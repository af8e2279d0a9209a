"""A refused webhook is one warning line with its reason, without a traceback."""

import logging

import pytest

from tests.sms.test_views import INBOUND, inbound_params

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("params", "headers", "reason"),
    [
        (
            inbound_params(),
            {"HTTP_X_TWILIO_SIGNATURE": "d3Jvbmc="},
            "403 Invalid or missing X-Twilio-Signature.",
        ),
        (inbound_params(), {}, "403 Invalid or missing X-Twilio-Signature."),
    ],
)
def test_a_refused_webhook_logs_one_line(client, caplog, params, headers, reason):
    with caplog.at_level(logging.INFO):
        response = client.post(INBOUND, params, **headers)
    assert response.status_code == 403
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert [record.getMessage() for record in warnings] == [f"Refused {INBOUND}: {reason}"]
    assert all(record.exc_info is None for record in warnings)
