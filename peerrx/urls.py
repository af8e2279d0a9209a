from django.contrib import admin
from django.urls import include, path

from agencies.urls import urlpatterns as agency_urls
from peerrx import metrics, views
from peers.views import agency_home

handler404 = "peerrx.views.page_not_found"
handler403 = "peerrx.views.permission_denied"
handler500 = "peerrx.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("locations/", include("locations.urls")),
    # The agency's home page is its roster's dashboard, which peers/ (a floor above) serves.
    path("agencies/", include(([path("", agency_home, name="home"), *agency_urls], "agencies"))),
    path("roster/", include("peers.urls")),
    path("requests/", include("peer_requests.urls")),
    # The simulator sits under /sms/ beside the webhooks it imitates.
    path("sms/simulator/", include("demo.urls")),
    path("sms/", include("sms.urls")),
    path("reports/", include("reporting.urls")),
    path("staff/", include("peer_requests.staff_urls")),
    path("decisions/", include("reporting.decision_urls")),
    path("encounters/", include("peer_requests.encounter_urls")),
]
