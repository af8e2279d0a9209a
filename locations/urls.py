from django.urls import path

from locations import views

app_name = "locations"

# The home page ("locations:home") is the start page peer_requests/ serves (see peerrx/urls.py).
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("details/", views.details, name="details"),
    path("staff/", views.staff, name="staff"),
    path("staff/<int:pk>/deactivate/", views.staff_active, {"flag": False}, name="staff_deactivate"),
    path("staff/<int:pk>/reactivate/", views.staff_active, {"flag": True}, name="staff_reactivate"),
    path("staff/<int:pk>/make-admin/", views.staff_admin, {"flag": True}, name="staff_make_admin"),
    path("staff/<int:pk>/remove-admin/", views.staff_admin, {"flag": False}, name="staff_remove_admin"),
    path("preferred-agencies/", views.preferred_agencies, name="preferred_agencies"),
]
