"""A per-account cool-off in front of the (username, address) lockout of django-axes.

Axes locks a username at one address after ``AXES_FAILURE_LIMIT`` failures for
``AXES_COOLOFF_HOURS``: it stops one guesser without touching the nurse at another desk.
A guesser who spreads attempts over many addresses is slowed here instead: once an account
has ``PEERRX_ACCOUNT_FAILURE_LIMIT`` failures from anywhere within the last
``PEERRX_ACCOUNT_COOLOFF_SECONDS``, it is refused (even the right password) until that many
seconds have passed, so a stranger can hold it shut only while they keep trying. The
failures are axes' own failure log; refused attempts are logged too.
"""

import datetime as dt

from axes.models import AccessFailureLog
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone

COOLING_OFF_ATTRIBUTE = "peerrx_account_cooling_off"


def account_cooling_off(username: str, *, now: dt.datetime | None = None) -> bool:
    if not (settings.AXES_ENABLED and username):
        return False
    now = now or timezone.now()
    since = now - dt.timedelta(seconds=settings.PEERRX_ACCOUNT_COOLOFF_SECONDS)
    recent = AccessFailureLog.objects.filter(username=username, attempt_time__gte=since)
    return recent.count() >= settings.PEERRX_ACCOUNT_FAILURE_LIMIT


class AccountCoolOffBackend:
    """Refuses (PermissionDenied: no later backend is tried) an account cooling off.

    It has no ``get_user``: it never logs anyone in, it only refuses.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if account_cooling_off(username or ""):
            if request is not None:
                setattr(request, COOLING_OFF_ATTRIBUTE, True)
            raise PermissionDenied("This account is cooling off after repeated failed attempts.")
        return None
