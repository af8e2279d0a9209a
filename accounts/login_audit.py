"""Logins into the audit trail: successes, failures (kept, not wiped by a later success), lockouts.

Django and django-axes announce these only through signals, so the receivers here are the
seam; each one only records (and starts the session's clocks on a login).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed

from accounts.middleware import stamp_session
from accounts.request_context import origin_of
from accounts.services import record_audit


def _attempted_user(username: str):
    if not username:
        return None
    return get_user_model().objects.filter(username__iexact=username).first()


def _origin_kwargs(request) -> dict:
    if request is None:
        return {}
    origin = origin_of(request)
    return {"ip": origin.ip, "user_agent": origin.user_agent}


def on_logged_in(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        stamp_session(request)
    record_audit(
        actor=user, action="login.succeeded", target=user, detail="password", **_origin_kwargs(request)
    )


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str(credentials.get("username", ""))[:150]
    user = _attempted_user(username)
    record_audit(
        actor=None,
        action="login.failed",
        target=user,
        target_repr=username,
        detail="" if user is not None else "no such user",
        **_origin_kwargs(request),
    )


def on_locked_out(sender, request, username, ip_address, **kwargs) -> None:
    record_audit(
        actor=None,
        action="login.locked_out",
        target=_attempted_user(username),
        target_repr=username or "",
        detail=f"after repeated failures from {ip_address}",
        **_origin_kwargs(request),
    )


def connect() -> None:
    from axes.signals import user_locked_out

    user_logged_in.connect(on_logged_in, dispatch_uid="peerrx_login_audit")
    user_login_failed.connect(on_login_failed, dispatch_uid="peerrx_login_failed_audit")
    user_locked_out.connect(on_locked_out, dispatch_uid="peerrx_lockout_audit")
