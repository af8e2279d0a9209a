"""The address a request came from, as the proxy in front of Peer-RX saw it."""

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind a proxy (TRUST_X_FORWARDED_FOR) the last X-Forwarded-For entry.

    The proxy (deploy/nginx.conf) replaces X-Forwarded-For with the address it sees, so the last
    entry is the one it wrote; anything a client sent itself comes before it.
    """
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR", "")
