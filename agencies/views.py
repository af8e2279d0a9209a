"""Agency organisation pages for supervisors and the public agency sign-up page.

The roster, credentials and hours are the peers app's, and so is the agency's home page (its
dashboard counts the roster: ``peers.views.agency_home``); these pages are the agency itself.
Sign-up, details and supervisors are the pages every organisation has
(``accounts.organisation_views``).
"""

from accounts.organisation_views import OrganisationPages
from accounts.permissions import agency_member_required
from agencies import services
from agencies.forms import AgencyDetailsForm, AgencySignupForm, SupervisorForm

pages = OrganisationPages(model_name="agency", namespace="agencies", member_required=agency_member_required)

signup = pages.signup(
    form_class=AgencySignupForm, register=services.register_agency, template="agencies/signup.html"
)
details = pages.details(
    form_class=AgencyDetailsForm, update=services.update_agency_details, template="agencies/details.html"
)
supervisors = pages.members(
    form_class=SupervisorForm, template="agencies/supervisors.html", page="supervisors"
)
supervisor_active = pages.member_active(page="supervisors")
supervisor_admin = pages.member_admin(page="supervisors")
