from django.urls import path

from peer_requests import views

app_name = "peer_requests"

urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.request_create, name="create"),
    path("new/for-a-location/", views.staff_request_create, name="staff_create"),
    path("<int:pk>/", views.request_detail, name="detail"),
    path("<int:pk>/live/", views.request_live, name="live"),
    path("<int:pk>/cancel/", views.request_cancel, name="cancel"),
    path("<int:pk>/resubmit/", views.request_resubmit, name="resubmit"),
    path("<int:pk>/widen/", views.request_widen, name="widen"),
    path("<int:pk>/arrived/", views.request_arrived, name="arrived"),
    path("<int:pk>/finished/", views.request_finished, name="finished"),
    path("<int:pk>/not-come/", views.request_not_come, name="not_come"),
]
