"""The location portal and the public location sign-up page. Thin: forms validate, services write.

Sign-up, details and staff are the pages every organisation has (``accounts.organisation_views``).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.organisation_views import OrganisationPages
from accounts.permissions import location_member_required
from locations import selectors, services
from locations.forms import ColleagueForm, LocationDetailsForm, LocationSignupForm, PreferredAgenciesForm

pages = OrganisationPages(
    model_name="location", namespace="locations", member_required=location_member_required
)

signup = pages.signup(
    form_class=LocationSignupForm, register=services.register_location, template="locations/signup.html"
)
details = pages.details(
    form_class=LocationDetailsForm, update=services.update_location_details, template="locations/details.html"
)
staff = pages.members(form_class=ColleagueForm, template="locations/staff.html", page="staff")
staff_active = pages.member_active(page="staff")
staff_admin = pages.member_admin(page="staff")


@location_member_required
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
