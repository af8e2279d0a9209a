import pytest

from tests.browser.conftest import assert_every_field_labelled, log_in
from tests.locations.factories import LocationMembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_logs_location_staff_in_to_their_home(page, screenshot):
    membership = LocationMembershipFactory(user__username="nurse")
    page.goto("/accounts/login/")
    assert_every_field_labelled(page)
    log_in(page, "nurse")
    assert page.url.endswith("/locations/")
    assert membership.location.name in page.content()
    screenshot("login-location-home")
