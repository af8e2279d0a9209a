"""Project-wide pages: the role-aware home redirect, health check and error pages."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django.views.decorators.cache import never_cache

from accounts.roles import Role, role_of
from peerrx import health

ROLE_HOME = {
    Role.STAFF: "staff:home",
    Role.LOCATION: "locations:home",
    Role.AGENCY: "agencies:home",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    target = ROLE_HOME.get(role_of(request.user))
    if target is None:
        return render(request, "no_role.html", status=403)
    return redirect(target)


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    report = health.check()
    report.log_failures()
    return HttpResponse(
        report.public_json(), status=200 if report.ok else 503, content_type="application/json"
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "403.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without a request context: the database may be what failed. It says the team
    # was told only when Sentry or ADMINS is configured.
    context = {
        "errors_reported": settings.PEERRX_ERRORS_REPORTED,
        "support_contact": settings.PEERRX_SUPPORT_CONTACT,
        "support_phone": settings.PEERRX_SUPPORT_PHONE,
    }
    return HttpResponse(get_template("500.html").render(context), status=500)
