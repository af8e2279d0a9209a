import pytest
from django.urls import reverse

from tests.accounts.factories import StaffUserFactory
from tests.peers.factories import PeerFactory
from tests.sms.factories import InboundMessageFactory, OutboundMessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(StaffUserFactory())
    return client


class TestOutboundMessageAdmin:
    def test_it_lists_messages_in_constant_queries(self, admin_client, django_assert_num_queries):
        url = reverse("admin:sms_outboundmessage_changelist")
        OutboundMessageFactory.create_batch(2, peer=PeerFactory())
        admin_client.get(url)
        # Two of them read a staff member's permissions (their own and their group's).
        with django_assert_num_queries(9) as few:
            response = admin_client.get(url, {"status__exact": "queued", "q": "Peer-RX"})
        assert response.status_code == 200
        OutboundMessageFactory.create_batch(8, peer=PeerFactory())
        with django_assert_num_queries(len(few)):
            admin_client.get(url, {"status__exact": "queued", "q": "Peer-RX"})

    def test_it_is_read_only(self, admin_client):
        message = OutboundMessageFactory()
        assert admin_client.get(reverse("admin:sms_outboundmessage_add")).status_code == 403
        response = admin_client.get(reverse("admin:sms_outboundmessage_change", args=[message.pk]))
        assert response.status_code == 200
        assert b'name="_save"' not in response.content
        response = admin_client.post(
            reverse("admin:sms_outboundmessage_change", args=[message.pk]), {"body": "changed"}
        )
        assert response.status_code == 403
        message.refresh_from_db()
        assert message.body != "changed"
        assert (
            admin_client.get(reverse("admin:sms_outboundmessage_delete", args=[message.pk])).status_code
            == 403
        )


class TestInboundMessageAdmin:
    def test_it_lists_messages_in_constant_queries(self, admin_client, django_assert_num_queries):
        url = reverse("admin:sms_inboundmessage_changelist")
        InboundMessageFactory.create_batch(2, peer=PeerFactory())
        admin_client.get(url)
        # Two of them read a staff member's permissions (their own and their group's).
        with django_assert_num_queries(10) as few:
            assert admin_client.get(url, {"q": "YES"}).status_code == 200
        InboundMessageFactory.create_batch(8, peer=PeerFactory())
        with django_assert_num_queries(len(few)):
            admin_client.get(url, {"q": "YES"})

    def test_it_is_read_only(self, admin_client):
        inbound = InboundMessageFactory()
        assert admin_client.get(reverse("admin:sms_inboundmessage_add")).status_code == 403
        response = admin_client.get(reverse("admin:sms_inboundmessage_change", args=[inbound.pk]))
        assert response.status_code == 200
        assert b'name="_save"' not in response.content
