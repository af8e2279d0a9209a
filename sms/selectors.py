"""Reads of the SMS outbox for pages."""

from __future__ import annotations

import datetime as dt

from django.db.models import Min, Q

from sms.models import OutboundMessage, OutboundStatus


def provider_trouble(*, now: dt.datetime) -> dt.datetime | None:
    """Since when texts have been failing to reach the SMS provider, or None while they go out.

    Read from the texts waiting right now to be retried after the provider failed to answer or
    to take them (5xx, timeouts, dropped connections; not its rate limit, under which texts
    still flow): the earliest first failure among them. A text that was sent, failed for good
    or is past its deadline no longer counts, so the answer turns None as soon as the provider
    takes the waiting texts again. One query, on the outbox's (status, next attempt) index.
    """
    return OutboundMessage.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=now),
        status__in=[OutboundStatus.QUEUED, OutboundStatus.SENDING],
        provider_sid__isnull=True,
        first_error_at__isnull=False,
    ).aggregate(since=Min("first_error_at"))["since"]
