from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.permissions import agency_member_required


@agency_member_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "agencies/home.html", {"agency": request.agency})
