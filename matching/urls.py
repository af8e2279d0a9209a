from django.urls import path

from matching import views

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
]
