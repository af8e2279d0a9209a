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
from agencies.models import AgencyMembership

if TYPE_CHECKING:
    from agencies.models import Agency

logger = logging.getLogger(__name__)


def notify_supervisors(*, agency: Agency, subject: str, body: str) -> int:
    """Mail every active supervisor of ``agency`` with an address; returns how many were mailed.

    A mail server that is down only logs: the location has its text and the timeline its event.
    """
    recipients = sorted(
        set(
            AgencyMembership.objects.filter(agency=agency, user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    if not recipients:
        return 0
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:
        logger.exception("Could not mail the supervisors of agency %s", agency.pk)
        return 0
    return len(recipients)


def notify_staff(*, subject: str, body: str) -> int:
    """Mail every active Peer-RX staff member with an address; returns how many were mailed."""
    recipients = sorted(
        set(
            User.objects.filter(is_staff=True, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )
    if not recipients:
        return 0
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:
        logger.exception("Could not mail Peer-RX staff: %s", subject)
        return 0
    return len(recipients)
