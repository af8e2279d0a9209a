import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import Exists, OuterRef
from freezegun import freeze_time

from accounts.models import County, User
from accounts.roles import Role, role_of
from agencies.models import Agency
from core.choices import OrganisationStatus
from demo.seed import DEMO_PASSWORD, seed_demo
from locations.models import Location, PreferredAgency
from peers.models import Credential, Peer
from peers.selectors import available_peers

pytestmark = pytest.mark.django_db

SEEDED_ON = "2027-01-06 12:00:00"
NEW_YORK = ZoneInfo("America/New_York")
# Substance use needs a CRPA-type credential, mental health an NYCPS-type one.
CODES = ("CRPA", "NYCPS")


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


@pytest.fixture
def demo():
    with freeze_time(SEEDED_ON):
        return seed_demo()


def dispatchable(code: str, on: dt.date):
    """Peers dispatch could alert for a need served by credential ``code`` (CRPA or NYCPS)."""
    qualifying = Credential.objects.filter(
        peer=OuterRef("pk"), type__code=code, status=Credential.Status.VALIDATED, expires_on__gt=on
    )
    return Peer.objects.filter(
        Exists(qualifying),
        is_active=True,
        opted_out_at__isnull=True,
        agency__status=OrganisationStatus.VERIFIED,
        agency__counties__name="Orange",
    )


class TestSeedDemo:
    def test_it_changes_no_row_counts_when_run_again(self):
        before = row_counts()
        with freeze_time(SEEDED_ON):
            seed_demo()
        first = row_counts()
        assert first != before
        with freeze_time("2027-02-01 08:00:00"):
            seed_demo()
        assert row_counts() == first

    def test_it_builds_one_county_with_verified_and_pending_organisations(self, demo):
        assert [str(county) for county in County.objects.all()] == ["Orange County, NY"]
        locations = {
            location.kind: location.status for location in Location.objects.filter(status="verified")
        }
        assert locations == {
            Location.Kind.EMERGENCY_DEPARTMENT: OrganisationStatus.VERIFIED,
            Location.Kind.CLINIC: OrganisationStatus.VERIFIED,
        }
        assert Location.objects.filter(status=OrganisationStatus.PENDING).count() == 1
        assert Agency.objects.filter(status=OrganisationStatus.VERIFIED).count() == 3
        assert Agency.objects.filter(status=OrganisationStatus.PENDING).count() == 1
        assert all(
            location.verified_by.username == "staff"
            for location in Location.objects.filter(status="verified")
        )
        assert (
            PreferredAgency.objects.filter(location__name="Orange Regional Emergency Department").count() == 2
        )

    def test_it_seeds_about_thirty_varied_peers(self, demo):
        peers = Peer.objects.all()
        assert 28 <= peers.count() <= 32
        assert Peer.objects.filter(agency__status=OrganisationStatus.PENDING).count() >= 2
        for agency in Agency.objects.filter(status=OrganisationStatus.VERIFIED):
            assert agency.peers.count() >= 7, agency
        assert set(peers.values_list("gender", flat=True)) == {"female", "male", "non_binary"}
        assert set(peers.values_list("age_range", flat=True)) == {"18_35", "36_plus"}
        languages = set(peers.values_list("languages__code", flat=True))
        assert {"en", "es"} < languages
        assert len(languages) >= 4
        for peer in peers:
            number = phonenumbers.parse(str(peer.phone))
            assert phonenumbers.is_valid_number(number), peer.phone
            assert str(peer.phone).startswith("+184555501")

    def test_it_seeds_mixed_credentials(self, demo):
        today = dt.date(2027, 1, 6)
        codes_by_peer = {}
        for credential in Credential.objects.filter(status=Credential.Status.VALIDATED, expires_on__gt=today):
            codes_by_peer.setdefault(credential.peer_id, set()).add(credential.type.code)
        assert {"CRPA"} in codes_by_peer.values()
        assert {"NYCPS"} in codes_by_peer.values()
        assert {"CRPA", "NYCPS"} in codes_by_peer.values()
        assert Credential.objects.filter(status=Credential.Status.VALIDATED, expires_on__lt=today).exists()
        assert Credential.objects.filter(status=Credential.Status.PENDING).exists()
        assert Credential.objects.filter(type__is_provisional=True).exists()

    def test_it_has_credentialed_peers_available_at_every_hour_of_the_week(self, demo):
        monday = dt.datetime(2027, 1, 11, 0, 30, tzinfo=NEW_YORK)
        qualified = {
            code: set(dispatchable(code, monday.date()).values_list("pk", flat=True)) for code in CODES
        }
        for hour in range(7 * 24):
            at = monday + dt.timedelta(hours=hour)
            available = set(available_peers(at=at).values_list("pk", flat=True))
            for code in CODES:
                count = len(available & qualified[code])
                assert count >= 2, f"only {count} {code} peers at {at:%a %H:%M}"

    def test_it_creates_a_login_for_every_role(self, demo):
        roles = {login.username: role_of(User.objects.get(username=login.username)) for login in demo}
        assert roles == {
            "staff": Role.STAFF,
            "nurse": Role.LOCATION,
            "clinic": Role.LOCATION,
            "pending": Role.LOCATION,
            "supervisor": Role.AGENCY,
            "supervisor2": Role.AGENCY,
            "pendingagency": Role.AGENCY,
        }
        assert all(User.objects.get(username=login.username).check_password(DEMO_PASSWORD) for login in demo)
        pending = User.objects.get(username="pending").location_membership.location
        assert pending.status == OrganisationStatus.PENDING


class TestSeedDemoCommand:
    @pytest.fixture(autouse=True)
    def _debug(self, settings):
        settings.DEBUG = True

    def test_it_refuses_with_debug_off_unless_told_and_the_database_is_empty(self, settings):
        from django.core.management.base import CommandError

        settings.DEBUG = False
        with pytest.raises(CommandError, match="runs only with DEBUG on"):
            call_command("seed_demo", stdout=StringIO())
        assert not User.objects.exists()
        User.objects.create_user(username="someone-real", password="x")
        with pytest.raises(CommandError, match="has users"):
            call_command("seed_demo", "--yes-on-an-empty-database", stdout=StringIO())
        assert User.objects.count() == 1
        User.objects.all().delete()
        call_command("seed_demo", "--yes-on-an-empty-database", stdout=StringIO())
        assert User.objects.filter(username="staff").exists()

    def test_it_prints_every_login_with_its_password(self):
        out = StringIO()
        call_command("seed_demo", stdout=out)
        for username in ["staff", "nurse", "clinic", "pending", "supervisor", "supervisor2", "pendingagency"]:
            assert f"  {username} " in out.getvalue()
        assert DEMO_PASSWORD in out.getvalue()

    def test_it_prints_the_address_the_server_answers_on(self, settings):
        settings.PEERRX_PUBLIC_BASE_URL = "http://127.0.0.1:8401"
        out = StringIO()
        call_command("seed_demo", stdout=out)
        assert "Log in at http://127.0.0.1:8401/ with:" in out.getvalue()


class TestDemoSecondFactor:
    def test_the_demo_staff_login_has_an_authenticator_with_the_published_key(self, demo):
        from base64 import b32encode

        from django_otp.plugins.otp_totp.models import TOTPDevice

        from demo.seed import DEMO_TOTP_SECRET

        device = TOTPDevice.objects.get(user__username="staff", confirmed=True)
        assert b32encode(device.bin_key).decode() == DEMO_TOTP_SECRET
        assert not TOTPDevice.objects.exclude(user__username="staff").exists()

    def test_demo_code_prints_the_code_the_device_accepts(self, demo, settings):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        settings.DEBUG = True
        out = StringIO()
        call_command("demo_code", stdout=out)
        code = out.getvalue().strip()
        assert len(code) == 6
        assert TOTPDevice.objects.get(user__username="staff").verify_token(code)

    def test_demo_code_refuses_with_debug_off(self, settings):
        from django.core.management.base import CommandError

        settings.DEBUG = False
        with pytest.raises(CommandError, match="DEBUG"):
            call_command("demo_code", stdout=StringIO())
