"""Where the current request came from, for audit entries written anywhere below a view.

``AccessMiddleware`` sets it for every request; ``record_audit`` reads it, so services keep
their signatures and still record the client's address and browser. Outside a request (a
task, a command) there is none and the entry has neither.
"""

from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest

from core.addresses import client_address

USER_AGENT_MAX = 255


@dataclass(frozen=True)
class RequestOrigin:
    ip: str | None
    user_agent: str


current_origin: ContextVar[RequestOrigin | None] = ContextVar("peerrx_request_origin", default=None)


def origin_of(request: HttpRequest) -> RequestOrigin:
    return RequestOrigin(
        ip=client_address(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]
    )
