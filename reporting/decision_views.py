"""Agency supervisors' "Decisions": why their peers were or were not chosen."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.permissions import agency_member_required
from reporting.decisions import agency_decisions, decision_requests

PAGE_SIZE = 25


@agency_member_required
def decisions(request: HttpRequest) -> HttpResponse:
    page = Paginator(decision_requests(agency=request.agency), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reporting/decisions.html",
        {
            "agency": request.agency,
            "page": page,
            "decisions": agency_decisions(agency=request.agency, requests=list(page.object_list)),
        },
    )


@agency_member_required
def decision(request: HttpRequest, pk: int) -> HttpResponse:
    # Scoped: a request none of this agency's peers said YES to is not found.
    peer_request = get_object_or_404(decision_requests(agency=request.agency), pk=pk)
    (found,) = agency_decisions(agency=request.agency, requests=[peer_request])
    return render(request, "reporting/decision.html", {"agency": request.agency, "decision": found})
