from django.urls import path

from reporting import decision_views

app_name = "decisions"

urlpatterns = [
    path("", decision_views.decisions, name="list"),
    path("<int:pk>/", decision_views.decision, name="detail"),
]
