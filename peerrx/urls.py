from django.contrib import admin
from django.urls import include, path

from peerrx import views

handler404 = "peerrx.views.page_not_found"
handler403 = "peerrx.views.permission_denied"
handler500 = "peerrx.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("locations/", include("locations.urls")),
    path("agencies/", include("agencies.urls")),
    path("roster/", include("peers.urls")),
    path("requests/", include("peer_requests.urls")),
    path("sms/", include("sms.urls")),
    path("reports/", include("reporting.urls")),
    path("staff/", include("matching.urls")),
    path("decisions/", include("matching.explain_urls")),
]
