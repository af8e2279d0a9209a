"""Staff set up an authenticator app, log out, and come back with a code; no code, no admin."""

import re
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.accounts.factories import StaffUserFactory
from tests.browser.conftest import assert_every_field_labelled, enter_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def type_password(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_it_has_staff_enrol_then_log_in_with_a_code_to_reach_the_admin(page, screenshot):
    staff = StaffUserFactory(username="staff")
    TOTPDevice.objects.filter(user=staff).delete()  # a new staff member, no app yet

    type_password(page, "staff")
    expect(page.get_by_role("heading", name="Set up two-step login")).to_be_visible()
    assert page.locator(".mfa-qr svg").count() == 1
    assert_every_field_labelled(page)
    screenshot("mfa-enrol")
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    code = TOTP(b32decode(secret)).token()
    page.get_by_label("Authentication code").fill(f"{code:06d}")
    page.get_by_role("button", name="Turn on two-step login").click()
    expect(page.get_by_role("heading", name="Two-step login is on")).to_be_visible()
    assert page.get_by_role("list", name="Recovery codes").locator("li").count() == 10

    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()

    # The password alone does not open the admin.
    type_password(page, "staff")
    expect(page.get_by_role("heading", name="Enter your authentication code")).to_be_visible()
    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Enter your authentication code")).to_be_visible()
    assert "/admin/" not in page.url.split("?")[0]
    screenshot("mfa-code-step")

    enter_code(page, "staff")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("heading", name=re.compile("Site administration"))).to_be_visible()
