from django.contrib import admin

from matching.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    """When the periodic jobs last ran (the sweeper's shows on /healthz)."""

    list_display = ("name", "beat_at")
    readonly_fields = ("name", "beat_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
