from django.urls import path

from sms import views

app_name = "sms"

urlpatterns = [
    path("inbound/", views.inbound, name="inbound"),
    path("status/", views.status, name="status"),
    path("simulator/", views.simulator, name="simulator"),
    path("simulator/peer/<int:peer_id>/", views.simulator_peer, name="simulator_peer"),
    path("simulator/peer/<int:peer_id>/inbox/", views.simulator_peer_inbox, name="simulator_peer_inbox"),
    path("simulator/location/<int:location_id>/", views.simulator_location, name="simulator_location"),
    path(
        "simulator/location/<int:location_id>/inbox/",
        views.simulator_location_inbox,
        name="simulator_location_inbox",
    ),
]
