"""The address a request came from: for the login lockout, the sign-up limit and the audit trail.

Behind ``PEERRX_TRUSTED_PROXY_COUNT`` reverse proxies, each of which appends the address it
received the request from to ``X-Forwarded-For`` (deploy/nginx.conf writes it), the client is
the entry that many places from the right: entries further left were written by the client and
can be forged. With no trusted proxy (the default), the connection's own address is the client.
"""

from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest


def _valid(candidate: str) -> str | None:
    try:
        return str(ip_address(candidate.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The client's address, or None when the request carries no valid one."""
    remote = _valid(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.PEERRX_TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        # Fewer hops than proxies configured: the request did not come through them all.
        return remote
    return _valid(forwarded[-proxies]) or remote
