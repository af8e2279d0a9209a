"""Requests, alerts and alert texts for the report tests.

Self-contained on purpose: the reports pin exact figures, so these factories set every
field the reports read and nothing else.
"""

import datetime as dt

import factory

from core.choices import Need
from peer_requests.models import Alert, PeerRequest, RequestStatus
from sms.models import OutboundMessage, OutboundStatus
from tests.locations.factories import LocationFactory
from tests.peers.factories import PeerFactory


class ReportRequestFactory(factory.django.DjangoModelFactory):
    """A closed request by default (expired), so codes never clash among active ones."""

    class Meta:
        model = PeerRequest
        skip_postgeneration_save = True

    location = factory.SubFactory(LocationFactory)
    code = factory.Sequence(lambda n: f"{n % 10000:04d}")
    need = Need.SUBSTANCE_USE
    callback_contact = "Charge nurse, ext. 4410"
    status = RequestStatus.EXPIRED
    created_at = dt.datetime(2026, 1, 5, 15, 0, tzinfo=dt.UTC)
    selection_due_at = factory.LazyAttribute(lambda r: r.created_at + dt.timedelta(minutes=10))
    expires_at = factory.LazyAttribute(lambda r: r.created_at + dt.timedelta(minutes=30))

    @factory.post_generation
    def languages(self, create, extracted, **kwargs):
        if create and extracted:
            self.languages.set(extracted)


def filled_request(*, peer, after: dt.timedelta = dt.timedelta(minutes=10), **kwargs) -> PeerRequest:
    """A request assigned to ``peer`` ``after`` its creation, with the peer's YES alert."""
    request = ReportRequestFactory(status=RequestStatus.ASSIGNED, assigned_peer=peer, **kwargs)
    request.assigned_at = request.created_at + after
    # The encounter: at the bedside 10 minutes after assignment, for half an hour. Past
    # assignments have ended: a peer is on one live assignment at most.
    request.arrived_at = request.assigned_at + dt.timedelta(minutes=10)
    request.finished_at = request.assignment_ended_at = request.arrived_at + dt.timedelta(minutes=30)
    request.finished_how = PeerRequest.FinishedHow.PEER
    request.save(
        update_fields=["assigned_at", "arrived_at", "finished_at", "assignment_ended_at", "finished_how"]
    )
    ReportAlertFactory(
        request=request,
        peer=peer,
        response=Alert.Response.YES,
        responded_at=request.created_at + dt.timedelta(minutes=1),
        is_assigned=True,
    )
    return request


class ReportAlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    request = factory.SubFactory(ReportRequestFactory)
    peer = factory.SubFactory(PeerFactory)
    created_at = factory.LazyAttribute(lambda a: a.request.created_at)


class AlertTextFactory(factory.django.DjangoModelFactory):
    """The outbound text of an alert."""

    class Meta:
        model = OutboundMessage

    alert = factory.SubFactory(ReportAlertFactory)
    request = factory.LazyAttribute(lambda m: m.alert.request)
    peer = factory.LazyAttribute(lambda m: m.alert.peer)
    to = factory.LazyAttribute(lambda m: str(m.alert.peer.phone))
    body = "Peer-RX: a peer is needed. Reply YES 1234 or NO 1234."
    kind = OutboundMessage.Kind.ALERT
    status = OutboundStatus.DELIVERED
    created_at = factory.LazyAttribute(lambda m: m.alert.created_at)
    next_attempt_at = factory.LazyAttribute(lambda m: m.alert.created_at)
