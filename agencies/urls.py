from django.urls import path

from agencies import views

app_name = "agencies"

# The home page ("agencies:home") counts the roster, so peers/ serves it; peerrx/urls.py mounts it.

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("details/", views.details, name="details"),
    path("supervisors/", views.supervisors, name="supervisors"),
    path(
        "supervisors/<int:pk>/deactivate/",
        views.supervisor_active,
        {"active": False},
        name="supervisor_deactivate",
    ),
    path(
        "supervisors/<int:pk>/reactivate/",
        views.supervisor_active,
        {"active": True},
        name="supervisor_reactivate",
    ),
]
