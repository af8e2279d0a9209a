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


class TestDatabaseLost:
    @pytest.mark.parametrize("task", [tasks.send_batch, tasks.send_message])
    def test_a_delivery_task_is_tried_again_when_the_database_went_away(self, monkeypatch, task):
        from django.db import OperationalError

        calls = []

        def deliver(**kwargs):
            calls.append(kwargs)
            if len(calls) == 1:
                raise OperationalError("terminating connection due to administrator command")

        monkeypatch.setattr(services, "deliver_many", deliver)
        monkeypatch.setattr(services, "deliver", deliver)
        monkeypatch.setattr(task, "retry_backoff", False)  # no wait in the test
        result = task.apply(args=[[7]] if task is tasks.send_batch else [7])
        assert result.successful()
        assert len(calls) == 2
