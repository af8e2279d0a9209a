from django.urls import path

from peer_requests import encounter_views

app_name = "encounters"

urlpatterns = [
    path("", encounter_views.encounters, name="list"),
    path("<int:pk>/outcome/", encounter_views.encounter_outcome, name="outcome"),
]
