from django.urls import path

from peer_requests import staff_views as views

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path("follow-ups/<int:pk>/", views.record_follow_up, name="record_follow_up"),
]
