import factory

from sms.models import InboundMessage, OutboundMessage, OutboundStatus
from tests.world import T0


class OutboundMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboundMessage

    to = factory.Sequence(lambda n: f"+1212555{n % 10000:04d}")
    body = "Peer-RX: a peer is needed at General Hospital ED. Reply YES 4821 or NO 4821."
    kind = OutboundMessage.Kind.ALERT
    status = OutboundStatus.QUEUED
    created_at = T0
    next_attempt_at = factory.LazyAttribute(lambda m: m.created_at)


class InboundMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InboundMessage

    message_sid = factory.Sequence(lambda n: f"SM{n:032x}")
    from_number = factory.Sequence(lambda n: f"+1212555{n % 10000:04d}")
    to_number = "+15005550006"
    body = "YES 4821"
    received_at = T0
