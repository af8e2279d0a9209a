"""Report pages for the three roles; each table downloads as CSV with ``?format=csv&report=<name>``."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.permissions import agency_member_required, location_member_required, staff_required
from accounts.roles import Role, role_of
from agencies.models import Agency
from locations.models import Location
from reporting import pages
from reporting.csv_export import csv_response
from reporting.forms import ReportFilterForm
from reporting.selectors import Criteria

ROLE_REPORTS = {
    Role.STAFF: "reporting:staff",
    Role.AGENCY: "reporting:agency",
    Role.LOCATION: "reporting:location",
}


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """/reports/ sends each role to its own reports."""
    target = ROLE_REPORTS.get(role_of(request.user))
    if target is None:
        raise PermissionDenied("Reports are for Peer-RX staff, agencies and locations.")
    return redirect(target)


@staff_required
def staff_reports(request: HttpRequest) -> HttpResponse:
    return _reports(
        request,
        heading="Reports: all of Peer-RX",
        scope_note="Every location and agency. Choose an agency to see exactly what that agency sees.",
        tz_name=settings.TIME_ZONE,
        names=pages.STAFF_REPORTS,
        locations=Location.objects.order_by("name"),
        agencies=Agency.objects.order_by("name"),
    )


@agency_member_required
def agency_reports(request: HttpRequest) -> HttpResponse:
    agency = request.agency
    return _reports(
        request,
        heading=f"Reports: {agency}",
        scope_note="Requests your peers were alerted for, and your own peers' replies and assignments.",
        tz_name=agency.timezone,
        names=pages.AGENCY_REPORTS,
        locations=Location.objects.filter(county__agencies=agency).distinct().order_by("name"),
        fixed={"agency_id": agency.id},
        view=pages.View(agency_view=True),
    )


@location_member_required
def location_summary(request: HttpRequest) -> HttpResponse:
    location = request.location
    return _reports(
        request,
        heading=f"Summary: {location}",
        scope_note="Requests placed by your location.",
        tz_name=location.timezone,
        names=pages.LOCATION_REPORTS,
        fixed={"location_id": location.id},
        view=pages.View(include_peers=False),
    )


def _reports(
    request: HttpRequest,
    *,
    heading: str,
    scope_note: str,
    tz_name: str,
    names: list[str],
    locations=None,
    agencies=None,
    fixed: dict | None = None,
    view: pages.View | None = None,
) -> HttpResponse:
    today = timezone.now().astimezone(ZoneInfo(tz_name)).date()
    form = ReportFilterForm(request.GET, today=today, locations=locations, agencies=agencies)
    wants_csv = request.GET.get("format") == "csv"
    if wants_csv and request.GET.get("report") not in names:
        raise Http404("No such report.")
    if not form.is_valid():
        if wants_csv:
            errors = "; ".join(str(error) for errors in form.errors.values() for error in errors)
            return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
        return render(request, "reporting/reports.html", _context(heading, scope_note, tz_name, form))

    data = form.cleaned_data
    criteria = Criteria(
        tz_name=tz_name,
        start=data["start"],
        end=data["end"],
        location_id=data["location"].id if data.get("location") else None,
        agency_id=data["agency"].id if data.get("agency") else None,
        need=data.get("need") or "",
    )
    if fixed:
        criteria = replace(criteria, **fixed)
    view = view or pages.View()
    # Staff choosing an agency see that agency's view, wording included.
    view = replace(view, agency_view=view.agency_view or bool(criteria.agency_id), period=data["period"])

    if wants_csv:
        name = request.GET["report"]
        section = pages.build(name, criteria=criteria, view=view)
        return csv_response(section.table, filename=f"peerrx-{name}-{criteria.start}-{criteria.end}.csv")

    sections = []
    for name in names:
        section = pages.build(name, criteria=criteria, view=view)
        query = request.GET.copy()
        query["format"], query["report"] = "csv", name
        section.table.csv_url = f"?{query.urlencode()}"
        sections.append(section)
    context = _context(heading, scope_note, tz_name, form)
    context.update({"summary": sections[0], "sections": sections[1:], "criteria": criteria})
    return render(request, "reporting/reports.html", context)


def _context(heading: str, scope_note: str, tz_name: str, form: ReportFilterForm) -> dict:
    return {"heading": heading, "scope_note": scope_note, "tz_name": tz_name, "form": form}
