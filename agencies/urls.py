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
        {"flag": False},
        name="supervisor_deactivate",
    ),
    path(
        "supervisors/<int:pk>/reactivate/",
        views.supervisor_active,
        {"flag": True},
        name="supervisor_reactivate",
    ),
    path(
        "supervisors/<int:pk>/make-admin/",
        views.supervisor_admin,
        {"flag": True},
        name="supervisor_make_admin",
    ),
    path(
        "supervisors/<int:pk>/remove-admin/",
        views.supervisor_admin,
        {"flag": False},
        name="supervisor_remove_admin",
    ),
]
