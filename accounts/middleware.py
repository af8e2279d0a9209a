"""Every request: where it came from (for the audit trail), sessions that end, the second
factor where it is required, and no caching of what an authenticated person sees.

Idle timeout: a session unused for ``PEERRX_SESSION_IDLE_SECONDS`` ends. The live request
page, the request list and the start page poll every few seconds; that polling must not keep
an unattended screen signed in, so a request counts as activity unless it is an htmx request
(``HX-Request`` header) to one of ``POLLING_VIEWS``. A person reloading the same URL (no htmx header)
still counts. The last-activity stamp is rewritten at most once a minute, so a busy
session is not saved on every request.
"""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from accounts import mfa
from accounts.request_context import current_origin, origin_of

SESSION_STARTED = "peerrx_started_at"
SESSION_SEEN = "peerrx_seen_at"
SESSION_MFA_CHECKED = "peerrx_mfa_checked_at"
SEEN_GRANULARITY_SECONDS = 60
# How long "this user need not set up a second factor" is trusted before asking again, so an
# organisation newly marked "MFA required" reaches its members within minutes.
MFA_RECHECK_SECONDS = 300

# htmx polling that does not count as activity (view names): the live request page, the
# request list and the location's start page each refresh themselves while a request is live.
POLLING_VIEWS = frozenset({"peer_requests:live", "peer_requests:list", "locations:home"})
# Pages an unverified user may still reach: to log out, verify or set up the second factor.
MFA_OPEN_VIEWS = frozenset(
    {"logout", "login", "mfa:verify", "mfa:enrol", "healthz", "password_reset", "password_reset_done"}
)


def stamp_session(request: HttpRequest, *, now: float | None = None) -> None:
    """Start the idle and absolute clocks; called when someone logs in."""
    now = time.time() if now is None else now
    request.session[SESSION_STARTED] = now
    request.session[SESSION_SEEN] = now
    request.session.pop(SESSION_MFA_CHECKED, None)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _to_login(request: HttpRequest, message: str) -> HttpResponse:
    next_url = request.get_full_path()
    if _is_htmx(request):
        # The polled fragment's page is where the person should come back to.
        next_url = request.headers.get("HX-Current-URL") or resolve_url(settings.LOGIN_REDIRECT_URL)
    logout(request)
    messages.info(request, message)
    if _is_htmx(request):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': next_url})}"
        return response
    return redirect_to_login(next_url)


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    # After an htmx request, back to the page it came from, not to the fragment it asked for.
    came_from = request.headers.get("HX-Current-URL") if _is_htmx(request) else None
    target = f"{url}?{urlencode({'next': came_from or request.get_full_path()})}"
    if _is_htmx(request):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = target
        return response
    response = HttpResponse(status=302)
    response["Location"] = target
    return response


class AccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_origin.set(origin_of(request))
        try:
            response = self.get_response(request)
        finally:
            current_origin.reset(token)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Pages and downloads for a signed-in person carry names, numbers and documents.
            add_never_cache_headers(response)
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        if not request.user.is_authenticated:
            return None
        now = time.time()
        expired = self._session_expired(request, now=now)
        if expired:
            return _to_login(request, expired)
        view_name = request.resolver_match.view_name if request.resolver_match else ""
        if view_name in MFA_OPEN_VIEWS or view_name.startswith("admin:"):
            # The admin site refuses unverified users itself and sends them to the code step.
            return None
        return self._second_factor(request, now=now)

    def _session_expired(self, request: HttpRequest, *, now: float) -> str:
        session = request.session
        started = session.get(SESSION_STARTED)
        seen = session.get(SESSION_SEEN)
        if started is None or seen is None:
            stamp_session(request, now=now)
            return ""
        if now - started > settings.PEERRX_SESSION_MAX_SECONDS:
            return "For safety you are logged out after a long session. Please log in again."
        if now - seen > settings.PEERRX_SESSION_IDLE_SECONDS:
            return "You were logged out after a period of inactivity. Please log in again."
        polling = _is_htmx(request) and request.resolver_match.view_name in POLLING_VIEWS
        if not polling and now - seen >= SEEN_GRANULARITY_SECONDS:
            session[SESSION_SEEN] = now
        return ""

    def _second_factor(self, request: HttpRequest, *, now: float) -> HttpResponse | None:
        if not settings.PEERRX_MFA_ENFORCED or request.user.is_verified():
            return None
        checked = request.session.get(SESSION_MFA_CHECKED)
        if checked is not None and now - checked < MFA_RECHECK_SECONDS:
            return None
        if mfa.has_second_factor(request.user):
            return _redirect(request, reverse("mfa:verify"))
        if mfa.mfa_required_for(request.user):
            messages.info(request, "Set up a second factor before you continue: it protects peers' details.")
            return _redirect(request, reverse("mfa:enrol"))
        request.session[SESSION_MFA_CHECKED] = now
        return None
