"""The demo world for local runs: organisations, peers and one user for every role.

Idempotent: every row is looked up by a natural key before it is created, so running
``seed_demo`` twice changes nothing.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from agencies.models import Agency, AgencyMembership
from locations.models import County, Location, LocationMembership
from peerrx.choices import OrganisationStatus

DEMO_PASSWORD = "peerrx-demo"  # noqa: S105 - printed for local demo logins only


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


def _user(username: str, *, first: str, last: str, is_staff: bool = False) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first,
            "last_name": last,
            "email": f"{username}@example.org",
            "is_staff": is_staff,
            "is_superuser": is_staff,
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def seed_demo() -> list[DemoLogin]:
    now = timezone.now()
    staff = _user("staff", first="Pat", last="Reyes", is_staff=True)
    county, _ = County.objects.get_or_create(name="Orange", state="NY")
    location, _ = Location.objects.get_or_create(
        name="Orange Regional Emergency Department",
        defaults={
            "kind": Location.Kind.EMERGENCY_DEPARTMENT,
            "address": "707 East Main Street, Middletown, NY 10940",
            "county": county,
            "notification_phone": "+18455550100",
            "status": OrganisationStatus.VERIFIED,
            "verified_by": staff,
            "verified_at": now,
        },
    )
    agency, created = Agency.objects.get_or_create(
        name="Hudson Valley Peer Services",
        defaults={
            "contact_name": "Morgan Lee",
            "phone": "+18455550200",
            "email": "intake@hvps.example.org",
            "status": OrganisationStatus.VERIFIED,
            "verified_by": staff,
            "verified_at": now,
        },
    )
    if created:
        agency.counties.add(county)
    nurse = _user("nurse", first="Jordan", last="Kim")
    LocationMembership.objects.get_or_create(user=nurse, defaults={"location": location})
    supervisor = _user("supervisor", first="Morgan", last="Lee")
    AgencyMembership.objects.get_or_create(user=supervisor, defaults={"agency": agency})
    return [
        DemoLogin("staff", DEMO_PASSWORD, "Peer-RX staff (admin)"),
        DemoLogin("nurse", DEMO_PASSWORD, f"Location staff at {location}"),
        DemoLogin("supervisor", DEMO_PASSWORD, f"Agency supervisor at {agency}"),
    ]
