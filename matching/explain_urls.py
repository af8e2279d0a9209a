from django.urls import path

from matching import explain_views

app_name = "explain"

urlpatterns = [
    path("", explain_views.decisions, name="decisions"),
    path("<int:pk>/", explain_views.decision, name="decision"),
]
