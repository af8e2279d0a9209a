"""Mail to an agency's supervisors about their peer's assignment, and to Peer-RX staff about a
location reaching a request limit (no patient details, ever).

Supervisors work in the browser, often on a phone; a mail reaches them there. Texts go to the
location's notification phone (``services._text_location``), never to supervisors' own numbers,
which Peer-RX does not keep.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import send_mail

from accounts.models import User

if TYPE_CHECKING:
    from agencies.models import Agency

logger = logging.getLogger(__name__)


def notify_supervisors(*, agency: Agency, subject: str, body: str) -> int:
    """Mail every active supervisor of ``agency`` with an address; returns how many were mailed."""
    users = User.objects.filter(agency_membership__agency=agency)
    return _mail(users, subject=subject, body=body)


def notify_staff(*, subject: str, body: str) -> int:
    """Mail every active Peer-RX staff member with an address; returns how many were mailed."""
    return _mail(User.objects.filter(is_staff=True), subject=subject, body=body)


def _mail(users, *, subject: str, body: str) -> int:
    """A mail server that is down only logs: the texts and the timeline carry the news too."""
    recipients = sorted(set(users.filter(is_active=True).exclude(email="").values_list("email", flat=True)))
    if not recipients:
        return 0
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:
        logger.exception("Could not mail %d recipients: %s", len(recipients), subject)
        return 0
    return len(recipients)
