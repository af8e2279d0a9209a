"""View decorators for the three roles, and the one verification check of organisation pages.

Each decorator puts the user's organisation on the request (``request.location`` or
``request.agency``) so views never look it up from user input: another organisation's
objects are then simply not found (404) by the scoped querysets views use.

Every organisation page goes through ``_member_check``: a member blocked by Peer-RX is
refused everywhere, and a pending or suspended organisation gets the awaiting-verification
page (403) on every page except the few that opt out with ``verified=False`` (its home page
and its details). Pages opt out, never in, so a new page is closed until someone decides.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.roles import agency_membership, is_peerrx_staff, location_membership


def _awaiting_verification(request: HttpRequest, organisation) -> HttpResponse:
    return render(request, "awaiting_verification.html", {"organisation": organisation}, status=403)


def _member_check(request: HttpRequest, membership, *, verified: bool) -> HttpResponse | None:
    """None when the member may go on; otherwise the refusal to answer with."""
    if membership.blocked:
        raise PermissionDenied("Peer-RX has blocked your access to this organisation.")
    organisation = membership.organisation
    if verified and not organisation.is_verified:
        return _awaiting_verification(request, organisation)
    return None


def _member_required(
    *,
    find: Callable,
    attribute: str,
    refusal: str,
    view: Callable | None,
    verified: bool,
    staff_too: bool = False,
) -> Callable:
    def decorator(func: Callable) -> Callable:
        @login_required
        @wraps(func)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if staff_too and is_peerrx_staff(request.user):
                return func(request, *args, **kwargs)
            membership = find(request.user)
            if membership is None:
                raise PermissionDenied(refusal)
            setattr(request, attribute, membership.organisation)
            request.membership = membership
            refused = _member_check(request, membership, verified=verified)
            if refused is not None:
                return refused
            return func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator


def location_member_required(view: Callable | None = None, *, verified: bool = True):
    """Location staff only; a pending or suspended location is refused unless ``verified=False``."""
    return _member_required(
        find=location_membership,
        attribute="location",
        refusal="This page is for location staff.",
        view=view,
        verified=verified,
    )


def agency_member_required(view: Callable | None = None, *, verified: bool = True):
    """Agency supervisors only; a pending or suspended agency is refused unless ``verified=False``."""
    return _member_required(
        find=agency_membership,
        attribute="agency",
        refusal="This page is for agency supervisors.",
        view=view,
        verified=verified,
    )


def location_member_or_staff_required(view: Callable | None = None, *, verified: bool = True):
    """Peer-RX staff (no ``request.location``), or location staff under the same check as above."""
    return _member_required(
        find=location_membership,
        attribute="location",
        refusal="This page is for location staff and Peer-RX staff.",
        view=view,
        verified=verified,
        staff_too=True,
    )


def agency_member_or_staff_required(view: Callable | None = None, *, verified: bool = True):
    """Peer-RX staff (no ``request.agency``), or agency supervisors under the same check as above."""
    return _member_required(
        find=agency_membership,
        attribute="agency",
        refusal="Only the peer's agency and the Peer-RX team can open this.",
        view=view,
        verified=verified,
        staff_too=True,
    )


def organisation_admin_required(func: Callable) -> Callable:
    """Inside a member decorator: only the organisation's admins (``request.membership.is_admin``)."""

    @wraps(func)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.membership.is_admin:
            raise PermissionDenied("Only your organisation's admins can change its members.")
        return func(request, *args, **kwargs)

    return wrapper


def staff_required(func: Callable) -> Callable:
    """Peer-RX staff only."""

    @login_required
    @wraps(func)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_peerrx_staff(request.user):
            raise PermissionDenied("This page is for Peer-RX staff.")
        return func(request, *args, **kwargs)

    return wrapper
