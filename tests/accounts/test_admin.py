import pytest
from django.urls import reverse

from tests.accounts.factories import CountyFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = StaffUserFactory()
    client.force_login(user)
    return user


def test_the_county_admin_searches_by_name(client, staff):
    CountyFactory(name="Orange")
    CountyFactory(name="Ulster")
    response = client.get(reverse("admin:accounts_county_changelist"), {"q": "ulster"})
    assert [str(county) for county in response.context["cl"].result_list] == ["Ulster County, NY"]
