"""Requests refused at the door: bodies larger than any page takes, and NUL characters.

Runs before the CSRF check, which would otherwise parse (and for multipart, write to disk) the
body of any anonymous POST to find its token; the form check, in ``process_view``, runs just
before CSRF's. A NUL byte is in no legitimate form value or query parameter, and PostgreSQL
refuses it in text ("A string literal cannot contain NUL"), which turned an admin search for
``%00`` into a 500; an admin date-hierarchy part of twenty digits overflowed ``datetime``.
"""

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.defaultfilters import filesizeformat

FORM_CONTENT_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
# The admin's date hierarchy turns ?created_at__year=99999999999999999999 into datetime(...), whose
# OverflowError Django does not catch: a date part is at most four digits.
DATE_PART = re.compile(r"__(year|month|day)$")
SHORT_NUMBER = re.compile(r"\d{1,4}")


class RequestTooLarge(HttpResponse):
    status_code = 413


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in data.lists())


class BoundedRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponseBadRequest("Content-Length is not a number.", content_type="text/plain")
        if declared > settings.PEERRX_MAX_REQUEST_BYTES:
            # Answered without reading the body; the server closes the connection after it.
            limit = filesizeformat(settings.PEERRX_MAX_REQUEST_BYTES)
            return RequestTooLarge(f"This request is too large: at most {limit}.", content_type="text/plain")
        if _has_nul(request.GET):
            return HttpResponseBadRequest("The address holds a NUL character.", content_type="text/plain")
        for name, values in request.GET.lists():
            if DATE_PART.search(name) and not all(SHORT_NUMBER.fullmatch(value) for value in values):
                return HttpResponseBadRequest(
                    f"{name} must be a number of at most four digits.", content_type="text/plain"
                )
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args, view_kwargs
    ) -> HttpResponse | None:
        # Webhooks (exempt from CSRF) read their own bodies, and store a text without its NULs.
        if request.method != "POST" or getattr(view_func, "csrf_exempt", False):
            return None
        if request.content_type not in FORM_CONTENT_TYPES:
            return None
        if request.content_type == "application/x-www-form-urlencoded":
            request.body  # noqa: B018 - read first, so that a view may still read the raw body
        if _has_nul(request.POST):
            return HttpResponseBadRequest("The form holds a NUL character.", content_type="text/plain")
        return None
