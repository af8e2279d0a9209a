import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from core.choices import OrganisationStatus
from locations.models import PreferredAgency
from locations.services import replace_preferred_agencies
from tests.accounts.factories import CountyFactory, StaffUserFactory
from tests.agencies.factories import AgencyFactory
from tests.locations.factories import LocationFactory, PreferredAgencyFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 15, 0, tzinfo=dt.UTC)


class TestReplacePreferredAgencies:
    @pytest.fixture
    def location(self):
        return LocationFactory()

    @pytest.fixture
    def agencies(self, location):
        return AgencyFactory.create_batch(3, counties=[location.county])

    def test_it_ranks_in_the_given_order(self, location, agencies):
        a, _b, c = agencies
        PreferredAgencyFactory(location=location, agency=a, rank=1)
        rows = replace_preferred_agencies(location=location, agencies=[c, a], actor=StaffUserFactory())
        assert [(row.rank, row.agency) for row in rows] == [(1, c), (2, a)]
        assert list(PreferredAgency.objects.filter(location=location).values_list("agency", "rank")) == [
            (c.pk, 1),
            (a.pk, 2),
        ]

    @pytest.mark.parametrize("problem", ["duplicate", "pending", "other-county"])
    def test_it_refuses_a_bad_list_and_keeps_the_old_one(self, location, agencies, problem):
        a, b, _c = agencies
        PreferredAgencyFactory(location=location, agency=a, rank=1)
        bad = {
            "duplicate": [b, b],
            "pending": [b, AgencyFactory(status=OrganisationStatus.PENDING, counties=[location.county])],
            "other-county": [b, AgencyFactory(counties=[CountyFactory(name="Erie")])],
        }[problem]
        with pytest.raises(ValidationError):
            replace_preferred_agencies(location=location, agencies=bad, actor=StaffUserFactory())
        assert list(PreferredAgency.objects.filter(location=location).values_list("agency", flat=True)) == [
            a.pk
        ]
