from django.urls import path

from peers import views

app_name = "peers"

urlpatterns = [
    path("", views.roster, name="roster"),
    path("available/", views.available, name="available"),
    path("peers/add/", views.peer_add, name="peer_add"),
    path("peers/<int:pk>/", views.peer_detail, name="peer_detail"),
    path("peers/<int:pk>/edit/", views.peer_edit, name="peer_edit"),
    path("peers/<int:pk>/deactivate/", views.peer_deactivate, name="peer_deactivate"),
    path("peers/<int:pk>/reactivate/", views.peer_reactivate, name="peer_reactivate"),
    path("peers/<int:pk>/consent/resend/", views.consent_resend, name="consent_resend"),
    path("consent.csv", views.consent_csv, name="consent_csv"),
    path("peers/<int:pk>/hours/", views.hours, name="hours"),
    path("peers/<int:pk>/credentials/add/", views.credential_add, name="credential_add"),
    path("peers/<int:pk>/overrides/available/", views.override_available, name="override_available"),
    path("peers/<int:pk>/overrides/unavailable/", views.override_unavailable, name="override_unavailable"),
    path("credentials/<int:pk>/edit/", views.credential_edit, name="credential_edit"),
    path("credentials/<int:pk>/remove/", views.credential_remove, name="credential_remove"),
    path("credentials/<int:pk>/document/", views.credential_document, name="credential_document"),
    path("overrides/<int:pk>/end/", views.override_end, name="override_end"),
]
