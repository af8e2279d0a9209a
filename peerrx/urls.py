from django.contrib import admin
from django.urls import include, path

from accounts.password_reset import password_reset
from agencies.urls import urlpatterns as agency_urls
from locations.urls import urlpatterns as location_urls
from peer_requests.views import location_home
from peerrx import metrics, views
from peers.views import agency_home

handler404 = "peerrx.views.page_not_found"
handler403 = "peerrx.views.permission_denied"
handler500 = "peerrx.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Ahead of accounts.urls' own: the reset link is built from PEERRX_PUBLIC_BASE_URL, not Host.
    path("accounts/password/reset/", password_reset, name="password_reset"),
    path("metrics", metrics.metrics, name="metrics"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    # The location's home is its start page, built around its requests: peer_requests/ serves it.
    path("locations/", include(([path("", location_home, name="home"), *location_urls], "locations"))),
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
