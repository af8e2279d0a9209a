"""View decorators for the three roles.

Each decorator puts the user's organisation on the request (``request.location`` or
``request.agency``) so views never look it up from user input: another organisation's
objects are then simply not found (404) by the scoped querysets views use.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.roles import agency_membership, location_membership


def _awaiting_verification(request: HttpRequest, organisation) -> HttpResponse:
    return render(request, "awaiting_verification.html", {"organisation": organisation}, status=403)


def location_member_required(view: Callable | None = None, *, verified: bool = False):
    """Location staff only; with ``verified=True`` a pending or suspended location is refused."""

    def decorator(func: Callable) -> Callable:
        @login_required
        @wraps(func)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            membership = location_membership(request.user)
            if membership is None:
                raise PermissionDenied("This page is for location staff.")
            request.location = membership.location
            if verified and not request.location.is_verified:
                return _awaiting_verification(request, request.location)
            return func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator


def agency_member_required(view: Callable | None = None, *, verified: bool = False):
    """Agency supervisors only; with ``verified=True`` a pending or suspended agency is refused."""

    def decorator(func: Callable) -> Callable:
        @login_required
        @wraps(func)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            membership = agency_membership(request.user)
            if membership is None:
                raise PermissionDenied("This page is for agency supervisors.")
            request.agency = membership.agency
            if verified and not request.agency.is_verified:
                return _awaiting_verification(request, request.agency)
            return func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator


def staff_required(func: Callable) -> Callable:
    """Peer-RX staff only."""

    @login_required
    @wraps(func)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("This page is for Peer-RX staff.")
        return func(request, *args, **kwargs)

    return wrapper
