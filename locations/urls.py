from django.urls import path

from locations import views

app_name = "locations"

# The home page ("locations:home") is the start page peer_requests/ serves (see peerrx/urls.py).
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("details/", views.details, name="details"),
    path("staff/", views.staff, name="staff"),
    path("staff/<int:pk>/deactivate/", views.staff_active, {"active": False}, name="staff_deactivate"),
    path("staff/<int:pk>/reactivate/", views.staff_active, {"active": True}, name="staff_reactivate"),
    path("preferred-agencies/", views.preferred_agencies, name="preferred_agencies"),
]
