"""The agency portal: roster, credentials, weekly hours, overrides, who is available now.

Every object is looked up inside the supervisor's own agency (``request.agency``, set by
the permission decorator), so another agency's peer, credential or override is a 404.
Pages render in the agency's time zone, the zone its weekly hours are kept in.
"""

import datetime as dt
import mimetypes
from collections.abc import Callable
from functools import wraps
from pathlib import PurePath
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import agency_member_or_staff_required, agency_member_required
from accounts.services import record_audit
from peers import consent, selectors, services
from peers.exports import consent_csv as consent_csv_response
from peers.forms import (
    ADD_WINDOW,
    AvailableForHoursForm,
    CredentialForm,
    PeerForm,
    UnavailableUntilForm,
    WeekFormSet,
    week_formset_initial,
    with_another_window,
)
from peers.models import AvailabilityOverride, Credential, Peer


def supervisor_view(func: Callable) -> Callable:
    """A verified agency's supervisor, with times shown in the agency's zone."""

    @agency_member_required(verified=True)
    @wraps(func)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        with timezone.override(ZoneInfo(request.agency.timezone)):
            return func(request, *args, **kwargs)

    return wrapper


def _peer(request: HttpRequest, pk: int) -> Peer:
    return get_object_or_404(selectors.agency_peers(agency=request.agency), pk=pk)


def _credential(request: HttpRequest, pk: int) -> Credential:
    return get_object_or_404(selectors.agency_credentials(agency=request.agency), pk=pk)


def _show_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form, by field when it names one the form has."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@supervisor_view
def roster(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    peers = list(selectors.roster(agency=request.agency, at=now))
    expiring = list(
        selectors.credentials_expiring(
            today=timezone.localdate(now), queryset=selectors.agency_credentials(agency=request.agency)
        )
    )
    return render(
        request,
        "peers/roster.html",
        {"agency": request.agency, "peers": peers, "expiring": expiring, "now": now},
    )


@supervisor_view
def available(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    peers = list(selectors.available_now(agency=request.agency, at=now))
    context = {"agency": request.agency, "peers": peers, "now": now}
    # htmx refreshes the table in place every minute.
    template = "peers/_available_table.html" if request.headers.get("HX-Request") else "peers/available.html"
    return render(request, template, context)


@supervisor_view
@require_http_methods(["GET", "POST"])
def peer_add(request: HttpRequest) -> HttpResponse:
    form = PeerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            peer = services.create_peer(agency=request.agency, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _show_errors(form, error)
        else:
            messages.success(request, f"{peer} was added. Add their credentials and weekly hours next.")
            return redirect("peers:peer_detail", pk=peer.pk)
    return render(request, "peers/peer_form.html", {"form": form, "peer": None})


@supervisor_view
@require_http_methods(["GET", "POST"])
def peer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    peer = _peer(request, pk)
    form = PeerForm(request.POST or None, instance=peer)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_peer(peer=peer, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _show_errors(form, error)
        else:
            messages.success(request, "Saved.")
            return redirect("peers:peer_detail", pk=peer.pk)
    return render(request, "peers/peer_form.html", {"form": form, "peer": peer})


@supervisor_view
def peer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    peer = get_object_or_404(selectors.peer_with_schedule(agency=request.agency, pk=pk))
    now = timezone.now()
    return render(request, "peers/peer_detail.html", _detail_context(request, peer, now))


def _detail_context(request: HttpRequest, peer: Peer, now: dt.datetime, **forms) -> dict:
    local_now = timezone.localtime(now)
    context = {
        "peer": peer,
        "now": now,
        "today": local_now.date(),
        "available_now": selectors.is_available(peer=peer, at=now),
        "overrides": selectors.overrides_in_force(peer=peer, now=now),
        "coverage": list(enumerate(selectors.week_coverage(peer.windows.all()))),
        "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        "available_form": AvailableForHoursForm(),
        "consent_records": list(peer.consent_records.select_related("actor")[:20]),
        "unavailable_form": UnavailableUntilForm(
            now=now, initial={"until": (local_now + dt.timedelta(hours=8)).replace(second=0, microsecond=0)}
        ),
    }
    context.update(forms)
    return context


@supervisor_view
@require_POST
def peer_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    peer = _peer(request, pk)
    services.deactivate_peer(peer=peer, actor=request.user)
    messages.success(request, f"{peer} is inactive and will not be alerted.")
    return redirect("peers:peer_detail", pk=peer.pk)


@supervisor_view
@require_POST
def consent_resend(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the opt-in text again (once a day at most, while the peer has not replied JOIN)."""
    peer = _peer(request, pk)
    try:
        consent.resend_consent_request(peer=peer, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The opt-in text was sent to {peer} again.")
    return redirect("peers:peer_detail", pk=peer.pk)


@supervisor_view
def consent_csv(request: HttpRequest) -> HttpResponse:
    """Every opt-in and opt-out of the agency's peers, as CSV (the TCPA record)."""
    return consent_csv_response(selectors.consent_records(agency=request.agency).iterator())


@supervisor_view
@require_POST
def peer_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    peer = _peer(request, pk)
    services.reactivate_peer(peer=peer, actor=request.user)
    messages.success(request, f"{peer} is active again.")
    return redirect("peers:peer_detail", pk=peer.pk)


@supervisor_view
@require_http_methods(["GET", "POST"])
def credential_add(request: HttpRequest, pk: int) -> HttpResponse:
    peer = _peer(request, pk)
    form = CredentialForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_credential(peer=peer, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _show_errors(form, error)
        else:
            messages.success(request, "Credential added; it counts once the Peer-RX team has validated it.")
            return redirect("peers:peer_detail", pk=peer.pk)
    return render(request, "peers/credential_form.html", {"form": form, "peer": peer, "credential": None})


@supervisor_view
@require_http_methods(["GET", "POST"])
def credential_edit(request: HttpRequest, pk: int) -> HttpResponse:
    credential = _credential(request, pk)
    form = CredentialForm(
        request.POST or None, request.FILES or None, initial=CredentialForm.initial_for(credential)
    )
    if request.method == "POST" and form.is_valid():
        try:
            credential = services.update_credential(
                credential=credential, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _show_errors(form, error)
        else:
            if credential.status == Credential.Status.PENDING:
                messages.info(request, "Saved; the credential waits for the Peer-RX team to validate it.")
            else:
                messages.success(request, "Saved.")
            return redirect("peers:peer_detail", pk=credential.peer_id)
    return render(
        request,
        "peers/credential_form.html",
        {"form": form, "peer": credential.peer, "credential": credential},
    )


@supervisor_view
@require_http_methods(["GET", "POST"])
def credential_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks "remove this credential?" (what it means for alerts); POST removes it."""
    credential = _credential(request, pk)
    peer = credential.peer
    if request.method == "GET":
        counts = selectors.credential_counts(credential=credential, today=timezone.localdate())
        return render(
            request,
            "peers/credential_remove.html",
            {"credential": credential, "peer": peer, "counts_today": counts},
        )
    services.remove_credential(credential=credential, actor=request.user)
    messages.success(request, f"The {credential.type.code} credential of {peer} was removed.")
    return redirect("peers:peer_detail", pk=peer.pk)


@never_cache
@agency_member_or_staff_required
def credential_document(request: HttpRequest, pk: int) -> FileResponse:
    """Stream a credential's document to the peer's (verified) agency or Peer-RX staff; never by URL."""
    if getattr(request, "agency", None) is None:
        credentials = Credential.objects.all()
    else:
        credentials = selectors.agency_credentials(agency=request.agency)
    credential = get_object_or_404(credentials.select_related("type"), pk=pk)
    if not credential.document:
        raise Http404("This credential has no document.")
    suffix = PurePath(credential.document.name).suffix.lower()
    content_type = mimetypes.types_map.get(suffix, "application/octet-stream")
    record_audit(actor=request.user, action="credential.document_downloaded", target=credential)
    return FileResponse(
        credential.document.open("rb"),
        as_attachment=True,
        filename=f"{credential.type.code}-{credential.number}{suffix}",
        content_type=content_type,
    )


@supervisor_view
@require_http_methods(["GET", "POST"])
def hours(request: HttpRequest, pk: int) -> HttpResponse:
    peer = _peer(request, pk)
    windows = list(peer.windows.all())
    if request.method == "POST" and ADD_WINDOW in request.POST:
        # "Add another window": the same rows as typed, plus one empty row; nothing is saved yet.
        formset = WeekFormSet(data=with_another_window(request.POST, prefix="hours"), prefix="hours")
        if not formset.management_form.is_valid():  # a tampered form: start again from the saved hours
            formset = WeekFormSet(initial=week_formset_initial(windows), prefix="hours")
        return _hours_page(request, peer, windows, formset, adding_window=True)
    formset = WeekFormSet(request.POST or None, initial=week_formset_initial(windows), prefix="hours")
    if request.method == "POST" and formset.is_valid():
        try:
            services.set_weekly_hours(peer=peer, windows=formset.specs(), actor=request.user)
        except ValidationError as error:  # the formset checked already; this is a last guard
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Weekly hours saved.")
            return redirect("peers:peer_detail", pk=peer.pk)
    return _hours_page(request, peer, windows, formset)


def _hours_page(
    request: HttpRequest, peer: Peer, windows: list, formset: WeekFormSet, *, adding_window: bool = False
) -> HttpResponse:
    return render(
        request,
        "peers/hours.html",
        {
            "peer": peer,
            "formset": formset,
            "add_window": ADD_WINDOW,
            "adding_window": adding_window,
            "coverage": list(enumerate(selectors.week_coverage(windows))),
            "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        },
    )


@supervisor_view
@require_POST
def override_available(request: HttpRequest, pk: int) -> HttpResponse:
    peer = _peer(request, pk)
    now = timezone.now()
    form = AvailableForHoursForm(request.POST)
    if form.is_valid():
        ends_at = now + dt.timedelta(hours=form.cleaned_data["hours"])
        services.set_availability_override(
            peer=peer,
            is_available=True,
            starts_at=now,
            ends_at=ends_at,
            reason=form.cleaned_data["reason"],
            source=AvailabilityOverride.Source.SUPERVISOR,
            actor=request.user,
        )
        messages.success(request, f"{peer} is available until {timezone.localtime(ends_at):%a %H:%M}.")
        return redirect("peers:peer_detail", pk=peer.pk)
    return _detail_with_errors(request, peer, now, available_form=form)


@supervisor_view
@require_POST
def override_unavailable(request: HttpRequest, pk: int) -> HttpResponse:
    peer = _peer(request, pk)
    now = timezone.now()
    form = UnavailableUntilForm(request.POST, now=now)
    if form.is_valid():
        until = form.cleaned_data["until"]
        services.set_availability_override(
            peer=peer,
            is_available=False,
            starts_at=now,
            ends_at=until,
            reason=form.cleaned_data["reason"],
            source=AvailabilityOverride.Source.SUPERVISOR,
            actor=request.user,
        )
        messages.success(request, f"{peer} is unavailable until {timezone.localtime(until):%a %d %b %H:%M}.")
        return redirect("peers:peer_detail", pk=peer.pk)
    return _detail_with_errors(request, peer, now, unavailable_form=form)


def _detail_with_errors(request: HttpRequest, peer: Peer, now: dt.datetime, **forms) -> HttpResponse:
    peer = selectors.peer_with_schedule(agency=request.agency, pk=peer.pk).get()
    return render(request, "peers/peer_detail.html", _detail_context(request, peer, now, **forms), status=400)


@supervisor_view
@require_POST
def override_end(request: HttpRequest, pk: int) -> HttpResponse:
    override = get_object_or_404(selectors.agency_overrides(agency=request.agency), pk=pk)
    peer_id = override.peer_id
    if services.end_override(override=override, now=timezone.now(), actor=request.user):
        messages.success(request, "Override ended; the weekly hours apply again.")
    return redirect("peers:peer_detail", pk=peer_id)


@agency_member_required(verified=False)
def agency_home(request: HttpRequest) -> HttpResponse:
    """The agency's home page (``agencies:home``): its roster's numbers at a glance."""
    overview = selectors.agency_overview(agency=request.agency)
    return render(request, "agencies/home.html", {"agency": request.agency, "overview": overview})
