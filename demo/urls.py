from django.urls import path

from demo import views

app_name = "demo"

urlpatterns = [
    path("", views.simulator, name="simulator"),
    path("peer/<int:peer_id>/", views.simulator_peer, name="simulator_peer"),
    path("peer/<int:peer_id>/inbox/", views.simulator_peer_inbox, name="simulator_peer_inbox"),
    path("location/<int:location_id>/", views.simulator_location, name="simulator_location"),
    path(
        "location/<int:location_id>/inbox/",
        views.simulator_location_inbox,
        name="simulator_location_inbox",
    ),
]
