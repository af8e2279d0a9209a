"""Browser journeys: Playwright driving Debian's Chromium against a live server.

No browser is downloaded: the tests launch the system's Chromium (Debian package
``chromium``) through ``executable_path``. Without it they skip with that reason, and
in CI (PEERRX_REQUIRE_SERVICES=1) they fail instead.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    # Playwright's sync API runs an event loop in the test's thread; the test body's own
    # ORM calls are still synchronous, so let Django allow them for these tests only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def chromium_path() -> str | None:
    return os.environ.get("PEERRX_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(autouse=True)
def _second_factor_enforced(settings):
    # The journeys run with the second factor required, as production does.
    settings.PEERRX_MFA_ENFORCED = True


@pytest.fixture
def browser():
    # Per test, not per session: Playwright's event loop must be gone before the next
    # test's database calls, or Django refuses them as "async".
    path = chromium_path()
    if path is None:
        message = "needs Chromium: apt-get install chromium (Debian package)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot under var/screenshots/; the best are copied to docs/screenshots/."""

    def take(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    take.directory = SCREENSHOTS  # for a second page's screenshot: page.screenshot(path=...)
    return take


def log_in(page, username: str, password: str = "correct-horse-battery") -> None:
    """Log in with the password and, when asked, the code of the user's authenticator app."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    if "/accounts/two-step/code/" in page.url:
        enter_code(page, username)


def enter_code(page, username: str) -> None:
    """Type the code the user's (factory-made) authenticator app shows now, as its owner would."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.accounts.factories import next_totp_code

    device = TOTPDevice.objects.get(user__username=username, confirmed=True)
    page.get_by_label("Authentication code").fill(next_totp_code(device))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()


def assert_every_field_labelled(page) -> None:
    """Every visible form control has a label a screen reader can announce."""
    unlabelled = page.evaluate(
        """() => Array.from(document.querySelectorAll('input, select, textarea'))
              .filter(el => el.type !== 'hidden' && el.type !== 'submit' && el.offsetParent !== null)
              .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                            && !el.getAttribute('aria-labelledby'))
              .map(el => el.name || el.id)"""
    )
    assert unlabelled == [], f"form fields without a label: {unlabelled}"


@pytest.fixture
def new_page(browser, live_server):
    """Open another browser context (a second person at another desk) on the live server."""
    contexts = []

    def open_page():
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def tab_to(page, selector: str, *, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def post_signed_sms(live_server, *, from_number: str, body: str) -> int:
    """POST an incoming text to /sms/inbound/ over HTTP, signed the way Twilio signs it.

    Twilio signs the public URL (``PEERRX_PUBLIC_BASE_URL`` + path), which the view rebuilds,
    while the request itself goes to the live server's own address.
    """
    import secrets

    from django.conf import settings

    from sms.transport import sign
    from tests.fake_twilio import FakeTwilio, SignedCallback

    sid = "SM" + secrets.token_hex(16)
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": from_number,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    }
    signature = sign(url=f"{settings.PEERRX_PUBLIC_BASE_URL}/sms/inbound/", params=params)
    return FakeTwilio.post(
        SignedCallback(url=f"{live_server.url}/sms/inbound/", params=params, signature=signature)
    )
