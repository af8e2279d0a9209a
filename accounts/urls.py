from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views
from accounts.organisation_views import confirm_signup_view, signup_sent

mfa_patterns = [
    path("", views.manage, name="manage"),
    path("code/", views.verify, name="verify"),
    path("set-up/", views.enrol, name="enrol"),
    path("remove/", views.remove, name="remove"),
]

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("two-step/", include((mfa_patterns, "mfa"))),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("registered/", signup_sent, name="signup_sent"),
    path("registered/<uidb64>/<token>/", confirm_signup_view, name="confirm_signup"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
