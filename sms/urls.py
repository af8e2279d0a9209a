from django.urls import path

from sms import views

app_name = "sms"

urlpatterns = [
    path("inbound/", views.inbound, name="inbound"),
    path("status/<int:message_id>/", views.status, name="status"),
    # Messages sent before their callback URL carried their id still name this one.
    path("status/", views.status, name="status_by_provider_id"),
]
