"""The location portal and the public location sign-up page. Thin: forms validate, services write."""

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import location_member_required
from locations import selectors, services
from locations.forms import ColleagueForm, LocationDetailsForm, LocationSignupForm, PreferredAgenciesForm
from locations.models import LocationMembership

# The first member just chose a password: no need to make them type it again.
SIGNUP_LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        messages.info(request, "You are already logged in. Log out first to register another organisation.")
        return redirect("home")
    form = LocationSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        membership = services.register_location(**form.service_arguments())
        login(request, membership.user, backend=SIGNUP_LOGIN_BACKEND)
        messages.success(request, f"{membership.location} is registered and awaiting verification.")
        return redirect("locations:home")
    return render(request, "locations/signup.html", {"form": form})


@location_member_required
def home(request: HttpRequest) -> HttpResponse:
    overview = selectors.location_overview(location=request.location)
    return render(request, "locations/home.html", {"location": request.location, "overview": overview})


@location_member_required
@require_http_methods(["GET", "POST"])
def details(request: HttpRequest) -> HttpResponse:
    location = request.location
    form = LocationDetailsForm(request.POST or None, initial=LocationDetailsForm.initial_for(location))
    if request.method == "POST" and form.is_valid():
        changed = services.update_location_details(
            location=location, actor=request.user, **form.service_arguments()
        )
        messages.success(request, "Details saved." if changed else "Nothing changed.")
        return redirect("locations:details")
    return render(request, "locations/details.html", {"location": location, "form": form})


@location_member_required(verified=True)
@require_http_methods(["GET", "POST"])
def staff(request: HttpRequest) -> HttpResponse:
    location = request.location
    form = ColleagueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        membership = services.add_location_colleague(
            location=location, invited_by=request.user, **form.cleaned_data
        )
        messages.success(
            request,
            f"{membership.user} was added. We emailed {membership.user.email} a link to choose a password.",
        )
        return redirect("locations:staff")
    members = selectors.location_members(location=location)
    return render(request, "locations/staff.html", {"location": location, "members": members, "form": form})


@location_member_required(verified=True)
@require_POST
def staff_active(request: HttpRequest, pk: int, active: bool) -> HttpResponse:
    # Scoped to the user's own location: another location's member is simply not found.
    membership = get_object_or_404(
        LocationMembership.objects.filter(location=request.location).select_related("user", "location"), pk=pk
    )
    try:
        changed = services.set_location_member_active(
            membership=membership, active=active, actor=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if changed:
            state = "can log in again" if active else "can no longer log in"
            messages.success(request, f"{membership.user} {state}.")
    return redirect("locations:staff")


@location_member_required(verified=True)
@require_http_methods(["GET", "POST"])
def preferred_agencies(request: HttpRequest) -> HttpResponse:
    location = request.location
    agencies = list(selectors.rankable_agencies(location=location))
    current = [row.agency_id for row in selectors.preferred_agencies(location=location)]
    form = PreferredAgenciesForm(request.POST or None, agencies=agencies, current=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.replace_preferred_agencies(
                location=location, agencies=form.cleaned_data["ranked"], actor=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Preferred agencies saved.")
            return redirect("locations:preferred_agencies")
    return render(
        request,
        "locations/preferred_agencies.html",
        {"location": location, "form": form, "has_agencies": bool(agencies)},
    )
