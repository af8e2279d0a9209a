import pytest

from sms import services, tasks
from sms.models import OutboundStatus
from tests.sms.factories import OutboundMessageFactory

pytestmark = pytest.mark.django_db


class TestSendMessage:
    def test_it_delivers_the_message(self, settings):
        settings.SMS_BACKEND = "console"
        message = OutboundMessageFactory()
        tasks.send_message(message.pk)
        message.refresh_from_db()
        assert message.status == OutboundStatus.SENT

    def test_it_does_nothing_for_a_message_that_is_gone(self):
        tasks.send_message(123456)  # deleted since it was enqueued: nothing to claim, no error


class TestSendBatch:
    def test_it_delivers_the_whole_batch(self, monkeypatch):
        seen = []
        monkeypatch.setattr(services, "deliver_many", lambda *, message_ids: seen.append(message_ids))
        tasks.send_batch([3, 1, 2])
        assert seen == [[3, 1, 2]]

    def test_it_is_registered_under_a_stable_name(self):
        assert tasks.send_message.name == "sms.tasks.send_message"
        assert tasks.send_batch.name == "sms.tasks.send_batch"
