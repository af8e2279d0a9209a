"""Whether the navigation links the phone simulator: the same rule as its pages' access."""

from django.conf import settings
from django.http import HttpRequest


def phone_simulator(request: HttpRequest) -> dict:
    """``phone_simulator_on``: the simulator is on and this user may open it (staff, or anyone in DEBUG)."""
    user = getattr(request, "user", None)
    allowed = bool(user is not None and user.is_authenticated and (user.is_staff or settings.DEBUG))
    return {"phone_simulator_on": settings.PEERRX_PHONE_SIMULATOR and allowed}
