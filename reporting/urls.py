from django.urls import path

from reporting import views

app_name = "reporting"

urlpatterns = [
    path("", views.index, name="index"),
    path("staff/", views.staff_reports, name="staff"),
    path("agency/", views.agency_reports, name="agency"),
    path("location/", views.location_summary, name="location"),
]
