"""Peer-RX's admin site: staff with a verified second factor only, and every edit audited.

It replaces Django's default site (``accounts.apps.PeerRxAdminConfig``), so every
``@admin.register`` in every app, and the admins of django-otp and django-axes, get the
same two guarantees without each ModelAdmin having to ask for them.
"""

import json

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.services import record_audit


def _change_text(message) -> str:
    """The admin's change message ("Changed Number and Type.") as plain text for the trail."""
    raw = json.dumps(message) if isinstance(message, list) else str(message)
    return LogEntry(change_message=raw).get_change_message() or raw


class AuditedAdminMixin:
    """Write an audit entry beside Django's admin log for every add, change and delete."""

    def log_addition(self, request, obj, message):
        record_audit(actor=request.user, action="admin.added", target=obj, detail=_change_text(message))
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        record_audit(actor=request.user, action="admin.changed", target=obj, detail=_change_text(message))
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            record_audit(actor=request.user, action="admin.deleted", target=obj, detail="in the admin")
        return super().log_deletions(request, queryset)


class PeerRxAdminSite(admin.AdminSite):
    """Like ``django_otp.admin.OTPAdminSite``: staff whose session passed the second factor.

    There is one login for the whole product: the admin's login sends a person to it, or to
    its code step when the password was given but not yet a code.
    """

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        return not settings.PEERRX_MFA_ENFORCED or request.user.is_verified()

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        next_url = request.GET.get("next") or request.get_full_path()
        if self.has_permission(request):
            return redirect("admin:index")
        if not request.user.is_authenticated:
            return redirect_to_login(next_url)
        if not request.user.is_staff:
            raise PermissionDenied("The admin is for Peer-RX staff.")
        return redirect_to_login(next_url, login_url="mfa:verify")

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AuditedAdminMixin):
            admin_class = type(
                admin_class.__name__, (AuditedAdminMixin, admin_class), {"__module__": admin_class.__module__}
            )
        return super().register(model_or_iterable, admin_class, **options)
