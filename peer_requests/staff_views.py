"""Peer-RX staff pages: the staff home and the follow-up queue of expired requests."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.permissions import staff_required
from peer_requests import selectors, services
from peer_requests.forms import FollowUpForm
from peer_requests.services import DispatchError
from peers.selectors import credentials_awaiting_validation
from sms import selectors as sms_selectors

PAGE_SIZE = 50


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    """What waits for Peer-RX staff: live requests, follow-ups, organisations and credentials to
    verify (each count links to the list to act on), and whether texts reach the SMS provider."""
    context = {
        "counts": selectors.staff_counts(),
        "credentials_awaiting_validation": credentials_awaiting_validation().count(),
        "provider_trouble_since": sms_selectors.provider_trouble(now=timezone.now()),
    }
    return render(request, "staff/home.html", context)


@staff_required
def follow_ups(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.follow_up_queue(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "staff/follow_ups.html", {"page": page, "form": FollowUpForm()})


@require_POST
@staff_required
def record_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    peer_request = selectors.follow_up_queue().filter(pk=pk).first()
    if peer_request is None:
        raise Http404("This request is not waiting for a follow-up.")
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Request {peer_request.code}: choose an outcome.")
        return redirect("staff:follow_ups")
    try:
        services.record_follow_up(
            peer_request=peer_request,
            actor=request.user,
            outcome=form.cleaned_data["outcome"],
            note=form.cleaned_data["note"],
        )
    except DispatchError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Request {peer_request.code} followed up.")
    return redirect("staff:follow_ups")
