from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.permissions import staff_required


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "staff/home.html")
