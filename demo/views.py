"""The phone simulator: every peer's and location's texts, and replies typed as a peer.

For local runs (on with DEBUG, or PEERRX_PHONE_SIMULATOR for Peer-RX staff). A reply goes
through the same signed webhook and handling as one from Twilio (``demo.simulator``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from demo import selectors
from demo import simulator as phone
from demo.forms import SimulatorReplyForm, SimulatorSearchForm
from locations.models import Location
from peers.models import Peer
from sms.services import WebhookError

SIMULATOR_PAGE_SIZE = 25


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
    live = selectors.live_requests()
    alerted = selectors.alerted_codes(live=live)
    peers = [(peer, alerted.get(peer.pk, [])) for peer in page.object_list]
    return render(
        request,
        "demo/simulator.html",
        {"form": form, "query": query, "page": page, "peers": peers, "locations": locations, "live": live},
    )


@require_http_methods(["GET", "POST"])
@simulator_access
def simulator_peer(request: HttpRequest, peer_id: int) -> HttpResponse:
    peer = get_object_or_404(Peer.objects.select_related("agency"), pk=peer_id)
    form = SimulatorReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            phone.simulate_inbound(from_number=str(peer.phone), body=form.cleaned_data["body"])
        except WebhookError as exc:
            form.add_error(None, exc.reason)
        else:
            return redirect("demo:simulator_peer", peer_id=peer.pk)
    return render(
        request,
        "demo/simulator_phone.html",
        {
            "peer": peer,
            "phone": str(peer.phone),
            "form": form,
            "inbox": selectors.phone_inbox(phone=str(peer.phone)),
            "inbox_url": reverse("demo:simulator_peer_inbox", args=[peer.pk]),
        },
    )


@require_GET
@simulator_access
def simulator_peer_inbox(request: HttpRequest, peer_id: int) -> HttpResponse:
    peer = get_object_or_404(Peer, pk=peer_id)
    return render(request, "demo/_inbox.html", {"inbox": selectors.phone_inbox(phone=str(peer.phone))})


@require_GET
@simulator_access
def simulator_location(request: HttpRequest, location_id: int) -> HttpResponse:
    location = get_object_or_404(Location, pk=location_id)
    return render(
        request,
        "demo/simulator_phone.html",
        {
            "location": location,
            "phone": str(location.notification_phone),
            "inbox": selectors.phone_inbox(phone=str(location.notification_phone)),
            "inbox_url": reverse("demo:simulator_location_inbox", args=[location.pk]),
        },
    )


@require_GET
@simulator_access
def simulator_location_inbox(request: HttpRequest, location_id: int) -> HttpResponse:
    location = get_object_or_404(Location, pk=location_id)
    return render(
        request, "demo/_inbox.html", {"inbox": selectors.phone_inbox(phone=str(location.notification_phone))}
    )
