"""The demo world for local runs: one county, its organisations, 30 peers, a login for every role.

Orange County, NY: two verified locations (an emergency department and a clinic) and a
pending one; three verified agencies and a pending one; thirty peers with mixed
credentials, demographics and weekly hours arranged so that at every hour of the week
several peers with a validated CRPA or NYCPS credential are available.

Idempotent: every row is looked up by a natural key (usernames, organisation names,
peer phone numbers, credential numbers, window times) before it is created, so running
``seed_demo`` twice changes nothing.
"""

import datetime as dt
from base64 import b32decode
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import County, User
from accounts.staff_group import STAFF_GROUP, sync_staff_group
from agencies.models import Agency, AgencyMembership
from core.choices import AgeRange, Gender, OrganisationStatus
from locations.models import Location, LocationMembership, PreferredAgency
from peers.models import AvailabilityWindow, Credential, CredentialType, Language, Peer

DEMO_PASSWORD = "peerrx-demo"  # noqa: S105 - printed for local demo logins only
# The demo staff login's authenticator key (published, like the password; README shows it):
# add it to any authenticator app, or print the current code with `python manage.py demo_code`.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - demo only, seed_demo refuses production


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


def _demo_totp_device(user: User) -> TOTPDevice:
    """Staff need a second factor: the demo staff login's, with the published key."""
    device, _ = TOTPDevice.objects.get_or_create(
        user=user,
        name="Demo authenticator",
        defaults={"key": b32decode(DEMO_TOTP_SECRET).hex(), "confirmed": True},
    )
    return device


def _user(username: str, *, first: str, last: str, is_staff: bool = False) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first,
            "last_name": last,
            "email": f"{username}@example.org",
            "is_staff": is_staff,
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def _staff_member(username: str, *, first: str, last: str) -> User:
    """Peer-RX staff: a member of the staff group, not a superuser (superuser is for operators)."""
    user = _user(username, first=first, last=last, is_staff=True)
    if user.is_superuser:  # seeded as a superuser before the group existed
        user.is_superuser = False
        user.save(update_fields=["is_superuser"])
    sync_staff_group()
    user.groups.add(Group.objects.get(name=STAFF_GROUP))
    return user


# --- Organisations ----------------------------------------------------------------------

# (key, name, kind, address, notification phone, status)
LOCATIONS = [
    (
        "ed",
        "Orange Regional Emergency Department",
        Location.Kind.EMERGENCY_DEPARTMENT,
        "707 East Main Street, Middletown, NY 10940",
        "+18455550100",
        OrganisationStatus.VERIFIED,
    ),
    (
        "clinic",
        "Newburgh Community Health Clinic",
        Location.Kind.CLINIC,
        "40 Broadway, Newburgh, NY 12550",
        "+18455550101",
        OrganisationStatus.VERIFIED,
    ),
    (
        "pending",
        "Port Jervis Behavioral Health Unit",
        Location.Kind.HOSPITAL_UNIT,
        "160 East Main Street, Port Jervis, NY 12771",
        "+18455550102",
        OrganisationStatus.PENDING,
    ),
]

# (key, name, contact person, phone, email, status)
AGENCIES = [
    (
        "hvps",
        "Hudson Valley Peer Services",
        "Morgan Lee",
        "+18455550200",
        "intake@hvps.example.org",
        OrganisationStatus.VERIFIED,
    ),
    (
        "ocra",
        "Orange County Recovery Alliance",
        "Dana Brooks",
        "+18455550201",
        "peers@ocra.example.org",
        OrganisationStatus.VERIFIED,
    ),
    (
        "npc",
        "Newburgh Peer Collective",
        "Luis Ortega",
        "+18455550202",
        "hello@npc.example.org",
        OrganisationStatus.VERIFIED,
    ),
    (
        "pending",
        "Warwick Valley Peer Network",
        "Renee Walsh",
        "+18455550203",
        "info@wvpn.example.org",
        OrganisationStatus.PENDING,
    ),
]

# (username, first, last, location key or None, agency key or None)
MEMBERS = [
    ("nurse", "Jordan", "Kim", "ed", None),
    ("clinic", "Alex", "Rivera", "clinic", None),
    ("pending", "Sam", "Patel", "pending", None),
    ("supervisor", "Morgan", "Lee", None, "hvps"),
    ("supervisor2", "Dana", "Brooks", None, "ocra"),
    ("pendingagency", "Renee", "Walsh", None, "pending"),
]

# Ranked preferences: location key -> agency keys, most preferred first.
PREFERENCES = {"ed": ["hvps", "ocra"], "clinic": ["npc", "hvps"]}

# --- Peers ------------------------------------------------------------------------------

F, M, X = Gender.FEMALE, Gender.MALE, Gender.NON_BINARY
YOUNG, OLDER = AgeRange.YOUNGER, AgeRange.OLDER

# Three eight-hour shifts; the night shift runs past midnight into the next day.
SHIFTS = {
    "day": (dt.time(7), dt.time(15)),
    "evening": (dt.time(15), dt.time(23)),
    "night": (dt.time(23), dt.time(7)),
}

# Seven peers per shift, each working five days in a row from a different first day, so
# every day of every shift has five of them. Credentials by position: 0, 3, 5 CRPA; 1, 4
# NYCPS; 2, 6 both. The two peers off on any day are consecutive, which leaves at least
# three CRPA-qualified and two NYCPS-qualified peers on every shift.
CORE_CREDENTIALS = ["CRPA", "NYCPS", "CRPA+NYCPS", "CRPA", "NYCPS", "CRPA", "CRPA+NYCPS"]

# (first, last, agency, age range, gender, languages) for the 21 shift workers, 7 per shift.
CORE_PEERS = [
    # day shift
    ("Maria", "Gonzalez", "hvps", OLDER, F, ["en", "es"]),
    ("James", "Carter", "ocra", OLDER, M, ["en"]),
    ("Aisha", "Johnson", "npc", YOUNG, F, ["en"]),
    ("Carlos", "Mendez", "hvps", YOUNG, M, ["en", "es"]),
    ("Emily", "O'Brien", "ocra", OLDER, F, ["en"]),
    ("Taylor", "Nguyen", "npc", YOUNG, X, ["en"]),
    ("Robert", "Williams", "hvps", OLDER, M, ["en"]),
    # evening shift
    ("Sofia", "Ramirez", "ocra", YOUNG, F, ["en", "es"]),
    ("Marcus", "Brown", "npc", OLDER, M, ["en"]),
    ("Jean", "Baptiste", "hvps", OLDER, M, ["en", "ht"]),
    ("Kayla", "Thompson", "ocra", YOUNG, F, ["en"]),
    ("Luis", "Hernandez", "npc", OLDER, M, ["en", "es"]),
    ("Rachel", "Goldberg", "hvps", OLDER, F, ["en", "yi"]),
    ("Jordan", "Ellis", "ocra", YOUNG, X, ["en"]),
    # night shift
    ("Denise", "Washington", "npc", OLDER, F, ["en"]),
    ("Kevin", "Murphy", "hvps", YOUNG, M, ["en"]),
    ("Ana", "Torres", "ocra", YOUNG, F, ["en", "es"]),
    ("Piotr", "Kowalski", "npc", OLDER, M, ["en", "pl"]),
    ("Brianna", "Davis", "hvps", YOUNG, F, ["en"]),
    ("Miguel", "Santos", "ocra", OLDER, M, ["en", "es"]),
    ("Grace", "Kim", "npc", OLDER, F, ["en", "ko"]),
]

WEEKDAYS = range(5)
WEEKEND = (5, 6)

# Nine more peers showing the other cases. Credential specs: "CODE", "CODE:expired" (validated
# but past its expiry), "CODE:pending" (awaiting validation), "CODE:expiring" (within 30 days).
# (first, last, agency, age range, gender, languages, credentials, active, days, start, end)
EXTRA_PEERS = [
    (
        "Tyrone",
        "Jackson",
        "hvps",
        OLDER,
        M,
        ["en"],
        ["CRPA:expired"],
        True,
        WEEKDAYS,
        dt.time(9),
        dt.time(17),
    ),
    (
        "Hannah",
        "Fischer",
        "ocra",
        YOUNG,
        F,
        ["en"],
        ["NYCPS:pending"],
        True,
        WEEKDAYS,
        dt.time(9),
        dt.time(17),
    ),
    ("Diego", "Morales", "npc", YOUNG, M, ["en", "es"], ["CRPA-P"], True, WEEKEND, dt.time(10), dt.time(22)),
    (
        "Olga",
        "Petrova",
        "hvps",
        OLDER,
        F,
        ["en", "ru"],
        ["NYCPS-P"],
        True,
        range(1, 6),
        dt.time(16),
        dt.time(22),
    ),
    (
        "Samuel",
        "Greene",
        "ocra",
        OLDER,
        M,
        ["en"],
        ["CRPA", "NYCPS"],
        False,
        WEEKDAYS,
        dt.time(8),
        dt.time(16),
    ),
    (
        "Lucia",
        "Vargas",
        "npc",
        YOUNG,
        F,
        ["en", "es"],
        ["CRPA:expiring"],
        True,
        WEEKEND,
        dt.time(8),
        dt.time(20),
    ),
    ("Chris", "Parker", "ocra", YOUNG, X, ["en", "ase"], ["NYCPS"], True, WEEKDAYS, dt.time(6), dt.time(12)),
    ("Nadia", "Haddad", "pending", OLDER, F, ["en", "ar"], ["CRPA"], True, range(7), dt.time(8), dt.time(18)),
    (
        "Owen",
        "Fitzgerald",
        "pending",
        YOUNG,
        M,
        ["en"],
        ["NYCPS:pending"],
        True,
        range(7),
        dt.time(8),
        dt.time(18),
    ),
]


def _peer_phone(index: int) -> str:
    """+1 845 555 0110 onwards: 555-01xx numbers are reserved for fiction."""
    return f"+1845555{110 + index:04d}"


def _credential(*, peer: Peer, spec: str, index: int, staff: User, now: dt.datetime) -> Credential:
    code, _, state = spec.partition(":")
    today = timezone.localdate(now)
    issued = today - dt.timedelta(days=365 * (1 + index % 2) + 10 * (index % 5))
    expires = issued + dt.timedelta(days=3 * 365)
    status = Credential.Status.VALIDATED
    if state == "expired":
        issued, expires = today - dt.timedelta(days=3 * 365 + 30), today - dt.timedelta(days=30)
    elif state == "expiring":
        issued, expires = today - dt.timedelta(days=3 * 365 - 20), today + dt.timedelta(days=20)
    elif state == "pending":
        status = Credential.Status.PENDING
    validated = status == Credential.Status.VALIDATED
    credential, _ = Credential.objects.get_or_create(
        peer=peer,
        type=CredentialType.objects.get(code=code),
        number=f"{code}-{peer.phone.national_number % 100000:05d}",
        defaults={
            "issued_on": issued,
            "expires_on": expires,
            "status": status,
            "validated_by": staff if validated else None,
            "validated_at": now if validated else None,
        },
    )
    return credential


def _peer(
    *,
    index: int,
    agency: Agency,
    first: str,
    last: str,
    age_range: str,
    gender: str,
    languages: list[str],
    active: bool = True,
) -> Peer:
    peer, _ = Peer.objects.get_or_create(
        phone=_peer_phone(index),
        defaults={
            "agency": agency,
            "first_name": first,
            "last_name": last,
            "age_range": age_range,
            "gender": gender,
            "is_active": active,
            # The demo's peers texted JOIN long ago; a new number added on the roster is asked.
            "consented_at": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        },
    )
    peer.languages.add(*Language.objects.filter(code__in=languages))
    return peer


def _window(*, peer: Peer, weekday: int, start: dt.time, end: dt.time) -> None:
    AvailabilityWindow.objects.get_or_create(peer=peer, weekday=weekday, start=start, end=end)


def _seed_peers(*, agencies: dict[str, Agency], staff: User, now: dt.datetime) -> int:
    index = 0
    for shift_number, shift in enumerate(SHIFTS.values()):
        for position in range(7):
            first, last, agency_key, age_range, gender, languages = CORE_PEERS[shift_number * 7 + position]
            peer = _peer(
                index=index,
                agency=agencies[agency_key],
                first=first,
                last=last,
                age_range=age_range,
                gender=gender,
                languages=languages,
            )
            for code in CORE_CREDENTIALS[position].split("+"):
                _credential(peer=peer, spec=code, index=index, staff=staff, now=now)
            for day in range(5):
                _window(peer=peer, weekday=(position + day) % 7, start=shift[0], end=shift[1])
            index += 1
    for first, last, agency_key, age_range, gender, languages, specs, active, days, start, end in EXTRA_PEERS:
        peer = _peer(
            index=index,
            agency=agencies[agency_key],
            first=first,
            last=last,
            age_range=age_range,
            gender=gender,
            languages=languages,
            active=active,
        )
        for spec in specs:
            _credential(peer=peer, spec=spec, index=index, staff=staff, now=now)
        for weekday in days:
            _window(peer=peer, weekday=weekday, start=start, end=end)
        index += 1
    return index


@transaction.atomic
def seed_demo() -> list[DemoLogin]:
    now = timezone.now()
    staff = _staff_member("staff", first="Pat", last="Reyes")
    _demo_totp_device(staff)
    county, _ = County.objects.get_or_create(name="Orange", state="NY")
    verified = {"verified_by": staff, "verified_at": now}

    locations: dict[str, Location] = {}
    for key, name, kind, address, phone, status in LOCATIONS:
        locations[key], _ = Location.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "address": address,
                "county": county,
                "timezone": "America/New_York",
                "notification_phone": phone,
                "status": status,
                **(verified if status == OrganisationStatus.VERIFIED else {}),
            },
        )

    agencies: dict[str, Agency] = {}
    for key, name, contact, phone, email, status in AGENCIES:
        agencies[key], _ = Agency.objects.get_or_create(
            name=name,
            defaults={
                "contact_name": contact,
                "phone": phone,
                "email": email,
                "timezone": "America/New_York",
                "status": status,
                **(verified if status == OrganisationStatus.VERIFIED else {}),
            },
        )
        agencies[key].counties.add(county)

    for location_key, agency_keys in PREFERENCES.items():
        for rank, agency_key in enumerate(agency_keys, start=1):
            PreferredAgency.objects.get_or_create(
                location=locations[location_key], agency=agencies[agency_key], defaults={"rank": rank}
            )

    logins = [
        DemoLogin(
            "staff",
            DEMO_PASSWORD,
            f"Peer-RX staff (the staff group, not a superuser; authenticator key {DEMO_TOTP_SECRET})",
        )
    ]
    for username, first, last, location_key, agency_key in MEMBERS:
        user = _user(username, first=first, last=last)
        if location_key is not None:
            location = locations[location_key]
            LocationMembership.objects.get_or_create(
                user=user, defaults={"location": location, "is_admin": True}
            )
            role = f"Location staff at {location} ({location.get_status_display().lower()})"
        else:
            agency = agencies[agency_key]
            AgencyMembership.objects.get_or_create(user=user, defaults={"agency": agency, "is_admin": True})
            role = f"Agency supervisor at {agency} ({agency.get_status_display().lower()})"
        logins.append(DemoLogin(username, DEMO_PASSWORD, role))

    _seed_peers(agencies=agencies, staff=staff, now=now)
    return logins
