"""The data migration that gave every existing location its first admin."""

import importlib

import pytest
from django.apps import apps

from locations.models import LocationMembership
from tests.locations.factories import LocationMembershipFactory

pytestmark = pytest.mark.django_db


def test_it_makes_the_earliest_active_member_of_each_location_its_admin():
    migration = importlib.import_module("locations.migrations.0005_membership_admin_and_block")
    first = LocationMembershipFactory(user__is_active=False)
    second = LocationMembershipFactory(location=first.location)
    third = LocationMembershipFactory(location=first.location)
    elsewhere = LocationMembershipFactory()
    migration.make_first_members_admins(apps, None)
    admins = set(LocationMembership.objects.filter(is_admin=True).values_list("pk", flat=True))
    assert admins == {second.pk, elsewhere.pk}
    assert third.pk not in admins
