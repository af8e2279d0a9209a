from django.http import HttpRequest

from accounts.roles import Role, agency_membership, location_membership, role_of


def role(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"role": Role.NONE}
    current = role_of(user)
    context = {"role": current}
    if current == Role.LOCATION:
        context["current_location"] = location_membership(user).location
    elif current == Role.AGENCY:
        context["current_agency"] = agency_membership(user).agency
    return context
