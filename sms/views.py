"""Twilio's webhooks. Thin: the work is in ``sms.services``."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sms import services

logger = logging.getLogger(__name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# Twilio's webhooks are a few hundred bytes, a few kilobytes with every field (a text is at most
# 1,600 characters, up to 6,400 bytes as UTF-8, and then URL-encoded).
MAX_WEBHOOK_BYTES = 32 * 1024


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _refused(request: HttpRequest, refusal: services.WebhookError) -> HttpResponse:
    """One warning line with the reason: a forged or misrouted post is worth a line, not a traceback."""
    logger.warning("Refused %s: %d %s", request.path, refusal.status, refusal.reason)
    response = _plain(refusal.status, refusal.reason)
    response._has_been_logged = True  # django.request would log a second line for the same 4xx
    return response


def _webhook(request: HttpRequest, process: Callable) -> HttpResponse:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _plain(400, "Bad Content-Length.")
    if declared > MAX_WEBHOOK_BYTES or len(request.body) > MAX_WEBHOOK_BYTES:
        return _plain(413, "Request body too large.")
    try:
        params = request.POST
    except (SuspiciousOperation, MultiPartParserError):
        return _plain(400, "Unreadable form data.")
    # Twilio signs the URL it called: the public one, whatever proxy sits in front of us.
    url = f"{settings.PEERRX_PUBLIC_BASE_URL}{request.get_full_path()}"
    try:
        process(url=url, params=params, signature=request.headers.get("X-Twilio-Signature"))
    except services.WebhookError as exc:
        return _refused(request, exc)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def inbound(request: HttpRequest) -> HttpResponse:
    """Twilio's "A message comes in" webhook."""
    return _webhook(request, services.process_inbound_webhook)


@csrf_exempt
@require_POST
def status(request: HttpRequest, message_id: int | None = None) -> HttpResponse:
    """Delivery status callbacks: each outbound message names ``/sms/status/<its id>/``."""

    def process(**kwargs) -> bool:
        return services.process_status_webhook(message_id=message_id, **kwargs)

    return _webhook(request, process)
