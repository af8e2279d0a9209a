"""Agency organisation pages for supervisors and the public agency sign-up page.

The roster, credentials and hours are the peers app's; these pages are the agency itself.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import agency_member_required
from agencies import selectors, services
from agencies.forms import AgencyDetailsForm, AgencySignupForm, SupervisorForm
from agencies.models import AgencyMembership
from locations.views import SIGNUP_LOGIN_BACKEND


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        messages.info(request, "You are already logged in. Log out first to register another organisation.")
        return redirect("home")
    form = AgencySignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        membership = services.register_agency(**form.service_arguments())
        login(request, membership.user, backend=SIGNUP_LOGIN_BACKEND)
        messages.success(request, f"{membership.agency} is registered and awaiting verification.")
        return redirect("agencies:home")
    return render(request, "agencies/signup.html", {"form": form})


@agency_member_required
def home(request: HttpRequest) -> HttpResponse:
    overview = selectors.agency_overview(agency=request.agency)
    return render(request, "agencies/home.html", {"agency": request.agency, "overview": overview})


@agency_member_required
@require_http_methods(["GET", "POST"])
def details(request: HttpRequest) -> HttpResponse:
    agency = request.agency
    form = AgencyDetailsForm(request.POST or None, initial=AgencyDetailsForm.initial_for(agency))
    if request.method == "POST" and form.is_valid():
        changed = services.update_agency_details(
            agency=agency, actor=request.user, **form.service_arguments()
        )
        messages.success(request, "Details saved." if changed else "Nothing changed.")
        return redirect("agencies:details")
    return render(request, "agencies/details.html", {"agency": agency, "form": form})


@agency_member_required(verified=True)
@require_http_methods(["GET", "POST"])
def supervisors(request: HttpRequest) -> HttpResponse:
    agency = request.agency
    form = SupervisorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        membership = services.add_agency_supervisor(
            agency=agency, invited_by=request.user, **form.cleaned_data
        )
        messages.success(
            request,
            f"{membership.user} was added. We emailed {membership.user.email} a link to choose a password.",
        )
        return redirect("agencies:supervisors")
    members = selectors.agency_members(agency=agency)
    return render(request, "agencies/supervisors.html", {"agency": agency, "members": members, "form": form})


@agency_member_required(verified=True)
@require_POST
def supervisor_active(request: HttpRequest, pk: int, active: bool) -> HttpResponse:
    # Scoped to the user's own agency: another agency's supervisor is simply not found.
    membership = get_object_or_404(
        AgencyMembership.objects.filter(agency=request.agency).select_related("user", "agency"), pk=pk
    )
    try:
        changed = services.set_agency_member_active(membership=membership, active=active, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if changed:
            state = "can log in again" if active else "can no longer log in"
            messages.success(request, f"{membership.user} {state}.")
    return redirect("agencies:supervisors")
