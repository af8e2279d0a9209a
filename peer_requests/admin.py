"""Requests in the Django admin: read-only history, plus the follow-up of expired requests.

The workflow fields are never edited by hand here (every change goes through
``peer_requests.services``); an expired request not yet followed up shows the follow-up outcome
and note as the only editable fields, saved through ``record_follow_up``.
"""

from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.html import format_html

from peer_requests import services
from peer_requests.models import Alert, Heartbeat, PeerRequest, RequestEvent, RequestStatus
from peer_requests.services import DispatchError

FOLLOW_UP_FIELDS = ("follow_up_outcome", "follow_up_note")


class FollowUpFilter(admin.SimpleListFilter):
    title = "follow-up"
    parameter_name = "follow_up"

    def lookups(self, request, model_admin):
        return [("due", "Due"), ("done", "Done")]

    def queryset(self, request, queryset):
        if self.value() == "due":
            return queryset.filter(status=RequestStatus.EXPIRED, followed_up_at__isnull=True)
        if self.value() == "done":
            return queryset.filter(followed_up_at__isnull=False)
        return queryset


class AlertInline(admin.TabularInline):
    model = Alert
    extra = 0
    can_delete = False
    show_change_link = False
    fields = (
        "peer",
        "agency",
        "response",
        "responded_at",
        "decline_reason",
        "is_assigned",
        "withdrawn_at",
        "rank",
        "score",
        "breakdown",
    )
    readonly_fields = fields
    ordering = ("rank", "id")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("request", "peer__agency")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="agency")
    def agency(self, alert: Alert) -> str:
        return alert.peer.agency.name

    @admin.display(description="score breakdown")
    def breakdown(self, alert: Alert) -> str:
        if not alert.score_breakdown:
            return "–"
        return render_to_string("peer_requests/_breakdown.html", {"breakdown": alert.score_breakdown})


class RequestEventInline(admin.TabularInline):
    """The timeline, in the location's time zone (the change page renders in it), with the
    zone's abbreviation on every time; each row's str() (a bare time) is left out."""

    model = RequestEvent
    extra = 0
    can_delete = False
    fields = ("local_time", "kind", "peer", "actor", "detail")
    readonly_fields = fields
    hide_original_text = True  # read by templates/admin/edit_inline/tabular.html

    @admin.display(description="time", ordering="at")
    def local_time(self, event: RequestEvent) -> str:
        return formats.date_format(timezone.localtime(event.at), "M j, Y, H:i:s T")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("peer", "actor")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PeerRequest)
class PeerRequestAdmin(admin.ModelAdmin):
    list_display = ("code", "location", "need", "status_badge", "created_at", "assigned_peer", "follow_up")
    list_filter = ("status", FollowUpFilter, "need", "created_at", "location")
    list_select_related = ("location", "assigned_peer")
    search_fields = ("location__name",)
    search_help_text = "A request code (4 digits) or part of a location's name."
    # One COUNT per page instead of two, and no date_hierarchy: its year links cost a DISTINCT
    # over every request (a second a page at a year of statewide data); the "created at" filter
    # offers today, the past 7 days, this month and this year.
    show_full_result_count = False
    inlines = [AlertInline, RequestEventInline]
    fieldsets = [
        (None, {"fields": ("code", "location", "status", "need", "age_range", "gender", "languages")}),
        ("Contact at the location", {"fields": ("callback_contact",)}),
        (
            "Timing",
            {"fields": ("created_at", "created_by", "selection_due_at", "expires_at", "closed_at")},
        ),
        ("Assignment", {"fields": ("assigned_peer", "assigned_at", "assignment_reason")}),
        (
            "Follow-up",
            {
                "fields": (
                    "follow_up_outcome",
                    "follow_up_note",
                    "followed_up_at",
                    "followed_up_by",
                    "resubmitted_from",
                )
            },
        ),
    ]

    def _follow_up_due(self, obj) -> bool:
        return obj is not None and obj.status == RequestStatus.EXPIRED and obj.followed_up_at is None

    def get_readonly_fields(self, request, obj=None):
        every = [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]
        if self._follow_up_due(obj):
            return [f for f in every if f not in FOLLOW_UP_FIELDS]
        return every

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location", "assigned_peer")

    def get_search_results(self, request, queryset, search_term):
        # A code is looked up exactly (an index), where icontains would scan every request.
        term = search_term.strip()
        if len(term) == PeerRequest._meta.get_field("code").max_length and term.isdigit():
            return queryset.filter(code=term), False
        return super().get_search_results(request, queryset, search_term)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Render every time on the page in the location's zone (settings.TIME_ZONE without one)."""
        location_zone = (
            PeerRequest.objects.filter(pk=object_id).values_list("location__timezone", flat=True).first()
            if str(object_id).isdigit()
            else None
        )
        zone = ZoneInfo(location_zone) if location_zone else timezone.get_default_timezone()
        with timezone.override(zone):
            response = super().change_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        return response

    def has_add_permission(self, request) -> bool:
        return False  # requests are submitted through the request form (or "on behalf" by staff)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: PeerRequest) -> str:
        return obj.get_status_display()

    @admin.display(description="follow-up")
    def follow_up(self, obj: PeerRequest) -> str:
        if obj.followed_up_at:
            return obj.get_follow_up_outcome_display()
        if obj.status == RequestStatus.EXPIRED:
            return format_html("<strong>{}</strong>", "due")
        return ""

    def save_model(self, request, obj, form, change) -> None:
        """Only the follow-up is saved, through the service (audited, on the timeline)."""
        if not (change and self._follow_up_due(PeerRequest.objects.get(pk=obj.pk))):
            return
        if not form.cleaned_data.get("follow_up_outcome"):
            return
        try:
            services.record_follow_up(
                peer_request=obj,
                actor=request.user,
                outcome=form.cleaned_data["follow_up_outcome"],
                note=form.cleaned_data.get("follow_up_note", ""),
            )
        except DispatchError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    """When the periodic jobs last ran (the sweeper's shows on /healthz)."""

    list_display = ("name", "beat_at")
    readonly_fields = ("name", "beat_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
