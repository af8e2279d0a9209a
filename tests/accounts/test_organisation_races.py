"""Races on PostgreSQL: two admins at once still leave the organisation an active admin."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from accounts.models import PendingChange
from accounts.organisations import review_change, set_member_admin
from locations.models import LocationMembership
from tests.accounts.factories import StaffUserFactory
from tests.locations.factories import LocationMembershipFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres(require_postgres):
    pass


def all_at_once(function, items):
    barrier = threading.Barrier(len(items))

    def run(item):
        try:
            barrier.wait(timeout=30)
            return function(item)
        except (PermissionDenied, ValidationError) as error:
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(run, items))


def test_two_admins_demoting_each_other_at_once_leave_one_admin():
    first = LocationMembershipFactory(is_admin=True)
    second = LocationMembershipFactory(location=first.location, is_admin=True)
    outcomes = all_at_once(
        lambda pair: set_member_admin(membership=pair[0], admin=False, actor=pair[1].user),
        [(first, second), (second, first)],
    )
    # One demotion wins; the other admin is then no admin any more, or would leave none.
    assert sum(outcome is True for outcome in outcomes) == 1
    assert sum(isinstance(outcome, PermissionDenied | ValidationError) for outcome in outcomes) == 1
    assert LocationMembership.objects.filter(location=first.location, is_admin=True).count() == 1


def test_two_reviewers_at_once_decide_once():
    from locations.services import update_location_details

    member = LocationMembershipFactory(is_admin=True)
    location = member.location
    update_location_details(
        location=location,
        actor=member.user,
        name="Renamed ED",
        kind=location.kind,
        address=location.address,
        county=location.county,
        timezone_name=location.timezone,
        notification_phone=str(location.notification_phone),
    )
    change = PendingChange.objects.get()
    reviewers = [StaffUserFactory(), StaffUserFactory()]
    decided = all_at_once(
        lambda pair: review_change(
            change=PendingChange.objects.get(pk=change.pk), approve=pair[1], actor=pair[0]
        ),
        [(reviewers[0], True), (reviewers[1], False)],
    )
    assert sorted(decided) == [False, True]
    change.refresh_from_db()
    location.refresh_from_db()
    assert (location.name == "Renamed ED") == (change.decision == PendingChange.Decision.APPROVED)
