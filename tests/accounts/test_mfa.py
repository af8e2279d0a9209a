"""The second factor: enrolment, the code step at log-in, recovery codes, reset by staff, enforcement."""

import re

import pytest
from django.contrib import admin
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEntry
from tests.accounts.factories import StaffUserFactory, TOTPDeviceFactory, UserFactory, next_totp_code
from tests.agencies.factories import AgencyMembershipFactory
from tests.locations.factories import LocationMembershipFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def enforced(settings):
    settings.PEERRX_MFA_ENFORCED = True


def log_in_with_password(client, user) -> None:
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content


def pending_code(user) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    otp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{otp.token():06d}"


def actions(user) -> list[str]:
    return list(
        AuditEntry.objects.filter(target_id=str(user.pk)).order_by("pk").values_list("action", flat=True)
    )


class TestEnrolment:
    def test_it_shows_a_qr_code_drawn_on_the_server_without_script(self, client):
        user = UserFactory()
        client.force_login(user)
        response = client.get(reverse("mfa:enrol"))
        assert response.status_code == 200
        body = response.content.decode()
        assert "<svg" in body
        assert "<script" not in body.split("<main", 1)[1].split("</main>", 1)[0]
        device = TOTPDevice.objects.get(user=user)
        assert device.confirmed is False
        assert re.search(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", body)

    def test_it_turns_on_with_the_first_code_and_shows_recovery_codes_once(self, client):
        user = UserFactory()
        client.force_login(user)
        client.get(reverse("mfa:enrol"))
        response = client.post(reverse("mfa:enrol"), {"code": pending_code(user)})
        assert response.status_code == 200
        codes = response.context["codes"]
        assert len(codes) == 10
        assert TOTPDevice.objects.get(user=user).confirmed
        assert StaticDevice.objects.get(user=user).token_set.count() == 10
        assert "mfa.enrolled" in actions(user)
        # The session that enrolled is verified: no code step straight after.
        assert client.get(reverse("mfa:manage")).status_code == 200

    def test_it_refuses_a_wrong_first_code_and_audits_it(self, client):
        user = UserFactory()
        client.force_login(user)
        client.get(reverse("mfa:enrol"))
        response = client.post(
            reverse("mfa:enrol"), {"code": "000000" if pending_code(user) != "000000" else "111111"}
        )
        assert response.status_code == 200
        assert "not right" in response.content.decode()
        assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        assert "mfa.code_failed" in actions(user)

    def test_it_lets_someone_who_need_not_keep_it_turn_it_off(self, client):
        user = UserFactory()
        TOTPDeviceFactory(user=user)
        log_in_with_password(client, user)
        client.post(reverse("mfa:verify"), {"code": next_totp_code(TOTPDevice.objects.get(user=user))})
        response = client.post(reverse("mfa:remove"))
        assert response.status_code == 302
        assert not TOTPDevice.objects.filter(user=user).exists()
        assert "mfa.removed" in actions(user)

    def test_it_keeps_it_for_staff(self, client):
        staff = StaffUserFactory()
        log_in_with_password(client, staff)
        client.post(reverse("mfa:verify"), {"code": next_totp_code(TOTPDevice.objects.get(user=staff))})
        client.post(reverse("mfa:remove"))
        assert TOTPDevice.objects.filter(user=staff).exists()


class TestLogInWithACode:
    def test_it_asks_for_the_code_after_the_password(self, client):
        staff = StaffUserFactory()
        log_in_with_password(client, staff)
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("mfa:verify"))

    def test_it_lets_the_right_code_in_and_only_once(self, client):
        staff = StaffUserFactory()
        device = TOTPDevice.objects.get(user=staff)
        log_in_with_password(client, staff)
        code = next_totp_code(device)
        response = client.post(reverse("mfa:verify"), {"code": code, "next": reverse("admin:index")})
        assert response.status_code == 302
        assert response["Location"] == reverse("admin:index")
        assert client.get(reverse("admin:index")).status_code == 200
        assert "mfa.verified" in actions(staff)

        client.post(reverse("logout"))
        log_in_with_password(client, staff)
        response = client.post(reverse("mfa:verify"), {"code": code})
        assert response.status_code == 200  # the same code again is refused
        assert "not right" in response.content.decode()

    def test_it_refuses_a_wrong_code_and_audits_it(self, client):
        staff = StaffUserFactory()
        log_in_with_password(client, staff)
        response = client.post(reverse("mfa:verify"), {"code": "12345x"})
        assert response.status_code == 200
        assert client.get(reverse("home")).status_code == 302
        assert "mfa.code_failed" in actions(staff)

    def test_it_refuses_the_admin_without_a_code(self, client):
        staff = StaffUserFactory()
        log_in_with_password(client, staff)
        response = client.get(reverse("admin:index"))
        assert response.status_code == 302
        followed = client.get(response["Location"])
        assert followed.status_code == 302
        assert followed["Location"].startswith(reverse("mfa:verify"))

    def test_it_refuses_the_admin_to_someone_not_staff(self, client):
        member = LocationMembershipFactory().user
        client.force_login(member)
        response = client.get(reverse("admin:login"))
        assert response.status_code == 403


class TestRecoveryCodes:
    def test_each_recovery_code_works_once(self, client):
        user = UserFactory()
        client.force_login(user)
        client.get(reverse("mfa:enrol"))
        codes = client.post(reverse("mfa:enrol"), {"code": pending_code(user)}).context["codes"]
        client.post(reverse("logout"))

        log_in_with_password(client, user)
        response = client.post(reverse("mfa:verify"), {"code": codes[0].upper()})
        assert response.status_code == 302
        assert "mfa.recovery_code_used" in actions(user)
        assert StaticDevice.objects.get(user=user).token_set.count() == 9

        client.post(reverse("logout"))
        log_in_with_password(client, user)
        response = client.post(reverse("mfa:verify"), {"code": codes[0]})
        assert response.status_code == 200


class TestResetByStaff:
    def test_staff_reset_a_lost_device_from_the_admin_and_it_is_audited(self, client):
        staff = StaffUserFactory()
        log_in_with_password(client, staff)
        client.post(reverse("mfa:verify"), {"code": next_totp_code(TOTPDevice.objects.get(user=staff))})
        nurse = LocationMembershipFactory().user
        TOTPDeviceFactory(user=nurse)
        response = client.post(
            reverse("admin:accounts_user_changelist"),
            {"action": "reset_second_factor", "_selected_action": [nurse.pk]},
        )
        assert response.status_code == 302
        assert not TOTPDevice.objects.filter(user=nurse).exists()
        entry = AuditEntry.objects.get(action="mfa.reset")
        assert entry.actor == staff
        assert entry.target_id == str(nurse.pk)

    def test_a_reset_staff_member_must_set_up_again(self, client):
        staff = StaffUserFactory()
        TOTPDevice.objects.filter(user=staff).delete()
        log_in_with_password(client, staff)
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("mfa:enrol"))


class TestRequiredByTheOrganisation:
    def test_members_of_an_organisation_marked_mfa_required_must_enrol(self, client):
        owner = LocationMembershipFactory(location__mfa_required=True)
        member = LocationMembershipFactory(location=owner.location)
        outsider = AgencyMembershipFactory()
        for user, must in ((owner.user, True), (member.user, True), (outsider.user, False)):
            client.force_login(user)
            response = client.get(reverse("home"))
            if must:
                assert response["Location"].startswith(reverse("mfa:enrol")), user
            else:
                assert not response.get("Location", "").startswith(reverse("mfa:enrol")), user
            client.logout()

    def test_staff_mark_an_organisation_in_the_admin(self):
        location_admin = admin.site._registry[type(LocationMembershipFactory().location)]
        fields = [f for _name, options in location_admin.get_fieldsets(None) for f in options["fields"]]
        assert "mfa_required" in fields


class TestTheAdminKeepsSecrets:
    def test_it_shows_no_authenticator_key_and_no_recovery_codes(self, client):
        staff = StaffUserFactory()
        log_in_with_password(client, staff)
        device = TOTPDevice.objects.get(user=staff)
        client.post(reverse("mfa:verify"), {"code": next_totp_code(device)})
        page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk])).content.decode()
        assert device.key not in page
        assert StaticDevice not in admin.site._registry


class TestHtmx:
    def test_an_unverified_polling_request_is_sent_to_the_code_step_by_htmx(self, client):
        staff = StaffUserFactory()
        log_in_with_password(client, staff)
        response = client.get(
            reverse("peer_requests:list"),
            headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/staff/"},
        )
        assert response.status_code == 200
        assert response["HX-Redirect"] == reverse("mfa:verify") + "?next=http%3A%2F%2Ftestserver%2Fstaff%2F"
