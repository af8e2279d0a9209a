import factory

from agencies.models import Agency, AgencyMembership
from core.choices import OrganisationStatus
from tests.accounts.factories import CountyFactory, UserFactory


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Peer Agency {n}")
    contact_name = factory.Faker("name")
    phone = factory.Sequence(lambda n: f"+1914555{n % 10000:04d}")
    email = factory.Sequence(lambda n: f"agency{n}@example.org")
    timezone = "America/New_York"
    status = OrganisationStatus.VERIFIED

    @factory.post_generation
    def counties(self, create, extracted, **kwargs):
        if not create:
            return
        for county in extracted if extracted is not None else [CountyFactory()]:
            self.counties.add(county)


class AgencyMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgencyMembership

    user = factory.SubFactory(UserFactory)
    agency = factory.SubFactory(AgencyFactory)
