import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from sms import selectors
from sms.models import OutboundStatus
from tests.accounts.factories import StaffUserFactory
from tests.sms.factories import T0, OutboundMessageFactory

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)


def waiting(*, failing_since, **kwargs):
    """A text queued for another try after the provider failed to answer it."""
    fields = {"status": OutboundStatus.QUEUED, "attempts": 2, "error_code": "20503"} | kwargs
    return OutboundMessageFactory(first_error_at=failing_since, **fields)


class TestProviderTrouble:
    def test_it_is_none_while_texts_go_out(self):
        OutboundMessageFactory(status=OutboundStatus.SENT, provider_sid="SM1")
        OutboundMessageFactory(status=OutboundStatus.QUEUED)  # not tried yet
        assert selectors.provider_trouble(now=T0) is None

    def test_it_says_since_when_the_oldest_waiting_text_has_been_failing(self, django_assert_num_queries):
        waiting(failing_since=T0 + 2 * MINUTE)
        waiting(failing_since=T0, status=OutboundStatus.SENDING)  # being tried again right now
        waiting(failing_since=T0 + MINUTE, valid_until=T0 + 30 * MINUTE)
        with django_assert_num_queries(1):
            assert selectors.provider_trouble(now=T0 + 3 * MINUTE) == T0

    def test_texts_sent_failed_for_good_or_past_their_deadline_no_longer_count(self):
        waiting(failing_since=T0, status=OutboundStatus.SENT, provider_sid="SM1")
        waiting(failing_since=T0, status=OutboundStatus.DELIVERED, provider_sid="SM2")
        waiting(failing_since=T0, status=OutboundStatus.FAILED)
        waiting(failing_since=T0, valid_until=T0 + 5 * MINUTE)
        assert selectors.provider_trouble(now=T0 + 5 * MINUTE) is None

    def test_it_ends_when_the_provider_takes_the_waiting_texts(self):
        message = waiting(failing_since=T0)
        assert selectors.provider_trouble(now=T0 + MINUTE) == T0
        message.status, message.provider_sid = OutboundStatus.SENT, "SM1"
        message.save()
        assert selectors.provider_trouble(now=T0 + 2 * MINUTE) is None


class TestProviderDelayedInclude:
    def test_it_shows_a_status_alert_while_texts_are_delayed(self):
        html = render_to_string("sms/_provider_delayed.html", {"provider_trouble_since": T0})
        assert 'role="status"' in html
        assert "Texts delayed: the SMS provider is not answering" in html

    def test_it_shows_nothing_when_texts_go_out(self):
        assert render_to_string("sms/_provider_delayed.html", {"provider_trouble_since": None}).strip() == ""

    def test_the_staff_home_shows_it_only_while_texts_are_delayed(self, client):
        client.force_login(StaffUserFactory())
        assert "Texts delayed" not in client.get(reverse("staff:home")).content.decode()
        waiting(failing_since=T0)
        page = client.get(reverse("staff:home")).content.decode()
        assert "Texts delayed: the SMS provider is not answering" in page
