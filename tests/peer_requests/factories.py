import datetime as dt

import factory

from core.choices import Need
from peer_requests.models import Alert, PeerRequest, RequestEvent, RequestStatus
from tests.locations.factories import LocationFactory
from tests.peers.factories import PeerFactory
from tests.world import T0


class PeerRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PeerRequest
        skip_postgeneration_save = True

    location = factory.SubFactory(LocationFactory)
    # 4-digit codes from 1000 up, unique while the factory runs (the DB refuses duplicates among
    # active requests).
    code = factory.Sequence(lambda n: f"{1000 + n % 9000}")
    need = Need.SUBSTANCE_USE
    callback_contact = "Charge nurse, ext. 4410"
    status = RequestStatus.COLLECTING
    created_at = T0
    selection_due_at = factory.LazyAttribute(lambda r: r.created_at + dt.timedelta(minutes=10))
    expires_at = factory.LazyAttribute(lambda r: r.created_at + dt.timedelta(minutes=30))

    @factory.post_generation
    def languages(self, create, extracted, **kwargs):
        if create and extracted:
            self.languages.set(extracted)


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    request = factory.SubFactory(PeerRequestFactory)
    peer = factory.SubFactory(PeerFactory)
    created_at = factory.LazyAttribute(lambda a: a.request.created_at)


class RequestEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RequestEvent

    request = factory.SubFactory(PeerRequestFactory)
    kind = RequestEvent.Kind.SUBMITTED
    at = factory.LazyAttribute(lambda e: e.request.created_at)
