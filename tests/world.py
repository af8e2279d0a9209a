"""The tests' shared scaffolding: the instant ``T0``, a small dispatch world (one verified location,
one verified agency serving its county, peers eligible for substance-use requests at any hour),
``submit`` a request from it, and ``inbound`` texts as the SMS webhook stores them."""

import datetime as dt
import importlib
from dataclasses import dataclass, field

from django.apps import apps

from agencies.models import Agency
from locations.models import Location
from peers.models import Peer
from sms.models import InboundMessage
from tests.agencies.factories import AgencyFactory
from tests.locations.factories import CountyFactory, LocationFactory
from tests.peers.factories import CredentialFactory, PeerFactory, always_available

T0 = dt.datetime(2026, 1, 5, 15, 0, tzinfo=dt.UTC)  # Monday 10:00 in New York


def eligible_peer(*, agency: Agency, credential: str = "CRPA", **kwargs) -> Peer:
    from tests.peers.factories import credential_type

    peer = PeerFactory(agency=agency, **kwargs)
    CredentialFactory(peer=peer, type=credential_type(credential))
    always_available(peer)
    return peer


@dataclass
class World:
    location: Location
    agency: Agency
    peers: list[Peer] = field(default_factory=list)


def make_world(*, peers: int = 3, county: str = "Orange") -> World:
    county = CountyFactory(name=county)
    location = LocationFactory(
        county=county,
        name="Orange Regional ED",
        address="707 East Main Street, Middletown, NY 10940",
    )
    agency = AgencyFactory(counties=[county], name="Hudson Valley Peer Services")
    return World(location=location, agency=agency, peers=[eligible_peer(agency=agency) for _ in range(peers)])


def seed_reference_data() -> None:
    """Credential types and languages, which a data migration seeds: a transactional test
    starts from an empty database (they are flushed after every such test), so it reseeds."""
    migration = importlib.import_module("peers.migrations.0002_seed_credential_types_and_languages")
    migration.seed(apps, None)


_sid = iter(range(1, 10**9))


def inbound(peer_or_number, body: str, *, sid: str | None = None, at: dt.datetime = T0) -> InboundMessage:
    number = peer_or_number if isinstance(peer_or_number, str) else str(peer_or_number.phone)
    return InboundMessage.objects.create(
        message_sid=sid or f"SM{next(_sid):032d}", from_number=number, body=body, received_at=at
    )


def submit(world: World, *, at: dt.datetime | None = T0, **fields):
    """Submit a substance-use request from the world's location, as its form does, at ``at``
    (None: the real clock); ``fields`` override the form's."""
    from django.utils import timezone

    from core.choices import Need
    from peer_requests import services

    form = {
        "location": world.location,
        "need": Need.SUBSTANCE_USE,
        "callback_contact": "Charge nurse, ext. 4410",
        "actor": None,
    }
    return services.submit_request(**(form | fields), now=at or timezone.now())
