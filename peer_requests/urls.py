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
]
