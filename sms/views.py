"""Twilio's webhooks and the phone simulator. Thin: the work is in ``sms.services``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from locations.models import Location
from peers.models import Peer
from sms import selectors, services
from sms.forms import SimulatorReplyForm, SimulatorSearchForm

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# Twilio's webhooks are a few hundred bytes (a text is at most 1,600 characters).
MAX_WEBHOOK_BYTES = 64 * 1024
SIMULATOR_PAGE_SIZE = 25


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


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
        return _plain(exc.status, exc.reason)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def inbound(request: HttpRequest) -> HttpResponse:
    """Twilio's "A message comes in" webhook."""
    return _webhook(request, services.process_inbound_webhook)


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    """Delivery status callbacks (each outbound message names this URL as its StatusCallback)."""
    return _webhook(request, services.process_status_webhook)


# --- Phone simulator ------------------------------------------------------------------------------


def simulator_access(view: Callable) -> Callable:
    """Only with PEERRX_PHONE_SIMULATOR on (else 404); for Peer-RX staff, or anyone signed in under DEBUG."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.PEERRX_PHONE_SIMULATOR:
            raise Http404("The phone simulator is off.")
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_staff or settings.DEBUG):
            raise PermissionDenied("The phone simulator is for Peer-RX staff.")
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
@simulator_access
def simulator(request: HttpRequest) -> HttpResponse:
    form = SimulatorSearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    page = Paginator(selectors.simulator_peers(query=query), SIMULATOR_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    locations = list(selectors.simulator_locations(query=query)[:SIMULATOR_PAGE_SIZE])
    return render(
        request,
        "sms/simulator.html",
        {"form": form, "query": query, "page": page, "locations": locations},
    )


@require_http_methods(["GET", "POST"])
@simulator_access
def simulator_peer(request: HttpRequest, peer_id: int) -> HttpResponse:
    peer = get_object_or_404(Peer.objects.select_related("agency"), pk=peer_id)
    form = SimulatorReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.simulate_inbound(from_number=str(peer.phone), body=form.cleaned_data["body"])
        except services.WebhookError as exc:
            form.add_error(None, exc.reason)
        else:
            return redirect("sms:simulator_peer", peer_id=peer.pk)
    return render(
        request,
        "sms/simulator_phone.html",
        {
            "peer": peer,
            "phone": str(peer.phone),
            "form": form,
            "inbox": selectors.phone_inbox(phone=str(peer.phone)),
            "inbox_url": reverse("sms:simulator_peer_inbox", args=[peer.pk]),
        },
    )


@require_GET
@simulator_access
def simulator_peer_inbox(request: HttpRequest, peer_id: int) -> HttpResponse:
    peer = get_object_or_404(Peer, pk=peer_id)
    return render(request, "sms/_inbox.html", {"inbox": selectors.phone_inbox(phone=str(peer.phone))})


@require_GET
@simulator_access
def simulator_location(request: HttpRequest, location_id: int) -> HttpResponse:
    location = get_object_or_404(Location, pk=location_id)
    return render(
        request,
        "sms/simulator_phone.html",
        {
            "location": location,
            "phone": str(location.notification_phone),
            "inbox": selectors.phone_inbox(phone=str(location.notification_phone)),
            "inbox_url": reverse("sms:simulator_location_inbox", args=[location.pk]),
        },
    )


@require_GET
@simulator_access
def simulator_location_inbox(request: HttpRequest, location_id: int) -> HttpResponse:
    location = get_object_or_404(Location, pk=location_id)
    return render(
        request, "sms/_inbox.html", {"inbox": selectors.phone_inbox(phone=str(location.notification_phone))}
    )
