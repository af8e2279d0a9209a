import factory

from core.choices import OrganisationStatus
from locations.models import Location, LocationMembership, PreferredAgency
from tests.accounts.factories import CountyFactory, UserFactory


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    name = factory.Sequence(lambda n: f"General Hospital {n} ED")
    kind = Location.Kind.EMERGENCY_DEPARTMENT
    address = factory.Sequence(lambda n: f"{n} Main Street, Middletown, NY 10940")
    county = factory.SubFactory(CountyFactory)
    timezone = "America/New_York"
    notification_phone = factory.Sequence(lambda n: f"+1845555{n % 10000:04d}")
    status = OrganisationStatus.VERIFIED


class LocationMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LocationMembership

    user = factory.SubFactory(UserFactory)
    location = factory.SubFactory(LocationFactory)


class PreferredAgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PreferredAgency

    location = factory.SubFactory(LocationFactory)
    agency = factory.SubFactory("tests.agencies.factories.AgencyFactory")
    rank = factory.Sequence(lambda n: n + 1)
