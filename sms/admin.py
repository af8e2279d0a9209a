from django.contrib import admin

from sms.models import InboundMessage, OutboundMessage


class ReadOnlyAdmin(admin.ModelAdmin):
    """Texts are a record of what happened: nobody edits or deletes them by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "to",
        "peer",
        "location",
        "status",
        "attempts",
        "error_code",
        "sent_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["to", "body"]
    list_select_related = ["peer", "location"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "to",
        "body",
        "kind",
        "peer",
        "location",
        "alert",
        "request",
        "status",
        "provider_sid",
        "attempts",
        "claim_token",
        "next_attempt_at",
        "rate_slot_at",
        "valid_until",
        "error_code",
        "error_message",
        "created_at",
        "sent_at",
        "status_updated_at",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("peer", "location", "alert", "request")


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "from_number", "peer", "body", "outcome", "handled_at"]
    list_filter = ["outcome"]
    search_fields = ["from_number", "body", "message_sid"]
    list_select_related = ["peer"]
    date_hierarchy = "received_at"
    readonly_fields = [
        "message_sid",
        "from_number",
        "to_number",
        "body",
        "peer",
        "received_at",
        "handled_at",
        "outcome",
    ]
