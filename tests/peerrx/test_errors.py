"""Error reporting: Sentry's events leave without personal data, ADMINS is parsed clearly, and
the 500 page says who was told."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from peerrx.error_mail import PrivateExceptionReporterFilter
from peerrx.errors import FILTERED, PHONE, parse_admins, scrub_event, scrub_string
from peerrx.views import server_error


class TestScrubString:
    @pytest.mark.parametrize(
        "number",
        [
            "+18455550123",
            "+447700900123",
            "845-555-0123",
            "(845) 555-0123",
            "845.555.0123",
            "8455550123",
            "1 845 555 0123",
            "+1 845-555-0123",
        ],
    )
    def test_it_replaces_every_way_of_writing_a_number(self, number):
        assert scrub_string(f"no peer for {number}, giving up") == f"no peer for {PHONE}, giving up"

    def test_it_leaves_other_numbers_alone(self):
        text = "request 4821 at 12:05, inbound 123456, order 12345678901234567890"
        assert scrub_string(text) == text


def event() -> dict:
    """An event as the Django and Celery integrations build it for a failed webhook."""
    return {
        "message": "handling the text from +18455550123 failed",
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": "no alert for (845) 555-0199",
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "handle_text",
                                "lineno": 4821,
                                "vars": {
                                    "body": "'YES 4821 i can be there'",
                                    "from_number": "'+18455550123'",
                                    "inbound_id": "42",
                                    "peer": "<Peer: Ana (+18455550123)>",
                                },
                            }
                        ]
                    },
                }
            ]
        },
        "request": {
            "url": "https://peer-rx.example.org/sms/inbound/",
            "method": "POST",
            "data": {"From": "+18455550123", "Body": "YES 4821", "MessageSid": "SM1"},
            "query_string": "to=8455550123",
            "cookies": {"sessionid": "abc"},
            "headers": {"User-Agent": "TwilioProxy/1.1"},
        },
        "extra": {"celery-job": {"args": [42], "kwargs": {"to": "+18455550123", "body": "hi"}}},
        "breadcrumbs": {"values": [{"message": "sent to 845-555-0100", "category": "sms"}]},
    }


class TestScrubEvent:
    def test_it_drops_the_request_body_cookies_and_query_string(self):
        request = scrub_event(event(), {})["request"]
        assert request["data"] == FILTERED
        assert request["cookies"] == FILTERED
        assert request["query_string"] == FILTERED
        assert request["url"] == "https://peer-rx.example.org/sms/inbound/"
        assert request["headers"] == {"User-Agent": "TwilioProxy/1.1"}

    def test_it_filters_bodies_and_numbers_by_name_and_scrubs_numbers_everywhere(self):
        scrubbed = scrub_event(event(), {})
        frame = scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]
        assert frame["vars"] == {
            "body": FILTERED,
            "from_number": FILTERED,
            "inbound_id": "42",
            "peer": f"<Peer: Ana ({PHONE})>",
        }
        assert frame["lineno"] == 4821
        assert scrubbed["message"] == f"handling the text from {PHONE} failed"
        assert scrubbed["exception"]["values"][0]["value"] == f"no alert for {PHONE}"
        assert scrubbed["extra"]["celery-job"]["kwargs"] == {"to": FILTERED, "body": FILTERED}
        assert scrubbed["breadcrumbs"]["values"][0]["message"] == f"sent to {PHONE}"

    def test_nothing_personal_is_left_anywhere(self):
        text = repr(scrub_event(event(), {}))
        for secret in ("5550123", "555-0199", "555-0100", "8455550123", "YES 4821", "can be there"):
            assert secret not in text

    def test_the_event_given_is_not_changed(self):
        original = event()
        scrub_event(original, {})
        assert original == event()


class TestParseAdmins:
    def test_names_and_bare_addresses(self):
        assert parse_admins("Ana Ops <ana@example.org>, ops@example.org") == [
            ("Ana Ops", "ana@example.org"),
            ("ops@example.org", "ops@example.org"),
        ]

    def test_empty_is_nobody(self):
        assert parse_admins("  ") == []

    @pytest.mark.parametrize("raw", ["Ana Ops", "ana@", "Ana <ana@example.org", "<not an address>"])
    def test_a_bad_entry_names_the_variable(self, raw):
        with pytest.raises(ImproperlyConfigured, match="PEERRX_ADMINS must be a comma-separated list"):
            parse_admins(raw)


class TestErrorMail:
    def test_the_mail_shows_no_form_field(self):
        request = RequestFactory().post("/sms/inbound/", {"From": "+18455550123", "Body": "YES 4821"})
        parameters = PrivateExceptionReporterFilter().get_post_parameters(request)
        assert set(parameters) == {"From", "Body"}
        assert "+18455550123" not in repr(parameters) and "YES" not in repr(parameters)


class TestServerErrorPage:
    def render(self) -> str:
        response = server_error(RequestFactory().get("/"))
        assert response.status_code == 500
        return response.content.decode()

    def test_with_reporting_it_says_the_team_was_told(self, settings):
        settings.PEERRX_ERRORS_REPORTED = True
        settings.PEERRX_SUPPORT_PHONE = "+1 845 555 0100"
        page = self.render()
        assert "the team has been told" in page
        assert "please tell Peer-RX support" not in page
        assert 'href="tel:+1 845 555 0100"' in page
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page

    def test_without_reporting_it_asks_to_tell_support(self, settings):
        settings.PEERRX_ERRORS_REPORTED = False
        settings.PEERRX_SUPPORT_CONTACT = "help@peer-rx.test"
        settings.PEERRX_SUPPORT_PHONE = ""
        page = self.render()
        assert "the team has been told" not in page
        assert "please tell Peer-RX support (help@peer-rx.test)" in page
        assert "tel:" not in page
        assert "call your peer agency directly" in page
        assert '<meta name="viewport"' in page


def test_it_stops_start_up_on_a_bad_admins_list():
    from tests.peerrx.test_settings import _start

    result = _start({"DEBUG": "true", "PEERRX_ADMINS": "Ana Ops <ana@example.org>, nobody"})
    assert result.returncode != 0
    assert "PEERRX_ADMINS must be a comma-separated list" in result.stderr
    assert "'nobody'" in result.stderr


def test_it_starts_with_sentry_scrubbing_every_event():
    import subprocess
    import sys

    from tests.peerrx.test_settings import ROOT, _inherited_env

    code = (
        "import django; django.setup(); import sentry_sdk; from django.conf import settings; "
        "client = sentry_sdk.get_client(); "
        "print(client.options['before_send'].__qualname__, client.options['send_default_pii'], "
        "'django' in client.integrations, 'celery' in client.integrations, settings.PEERRX_ERRORS_REPORTED)"
    )
    env = _inherited_env() | {
        "DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "peerrx.settings",
        "SENTRY_DSN": "https://public@127.0.0.1:9/1",  # nothing listens; nothing is sent
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["scrub_event", "False", "True", "True", "True"]


def test_the_error_mail_report_shows_no_number_or_body(settings):
    import sys

    from django.views.debug import ExceptionReporter

    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = "peerrx.error_mail.PrivateExceptionReporterFilter"
    request = RequestFactory().post("/sms/inbound/", {"From": "+18455550123", "Body": "YES 4821 on my way"})
    try:
        sender = "texts from +18455550123"  # noqa: F841 - a frame variable the report shows
        body = "YES 4821 on my way"  # noqa: F841
        raise ValueError("no alert")
    except ValueError:
        report = ExceptionReporter(request, *sys.exc_info()).get_traceback_text()
    assert "no alert" in report
    assert "5550123" not in report
    assert "on my way" not in report
