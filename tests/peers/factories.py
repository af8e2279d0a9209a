import datetime as dt

import factory

from core.choices import AgeRange, Gender
from peers.models import AvailabilityOverride, AvailabilityWindow, Credential, CredentialType, Language, Peer
from tests.agencies.factories import AgencyFactory


def language(code: str) -> Language:
    """The seeded language with this code (see the peers data migration)."""
    return Language.objects.get(code=code)


def credential_type(code: str) -> CredentialType:
    """The seeded credential type with this code, e.g. CRPA or NYCPS-P."""
    return CredentialType.objects.get(code=code)


class PeerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Peer

    agency = factory.SubFactory(AgencyFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    phone = factory.Sequence(lambda n: f"+1212555{n % 10000:04d}")
    age_range = AgeRange.YOUNGER
    gender = Gender.FEMALE
    is_active = True
    # A peer on the roster for a while, who texted JOIN long ago.
    consented_at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


class CredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Credential

    peer = factory.SubFactory(PeerFactory)
    type = factory.LazyFunction(lambda: credential_type("CRPA"))
    number = factory.Sequence(lambda n: f"C-{n:06d}")
    issued_on = dt.date(2024, 1, 1)
    expires_on = dt.date(2030, 1, 1)
    status = Credential.Status.VALIDATED


class AvailabilityWindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AvailabilityWindow

    peer = factory.SubFactory(PeerFactory)
    weekday = 0
    start = dt.time(9, 0)
    end = dt.time(17, 0)


class AvailabilityOverrideFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AvailabilityOverride

    peer = factory.SubFactory(PeerFactory)
    starts_at = factory.LazyFunction(lambda: dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + dt.timedelta(hours=4))
    is_available = True
    source = AvailabilityOverride.Source.SUPERVISOR


def always_available(peer: Peer) -> None:
    """Give a peer weekly hours covering every minute of the week."""
    for weekday in range(7):
        AvailabilityWindowFactory(peer=peer, weekday=weekday, start=dt.time(0, 0), end=dt.time(0, 0))
