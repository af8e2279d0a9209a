from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.permissions import location_member_required


@location_member_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "locations/home.html", {"location": request.location})
