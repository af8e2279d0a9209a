"""Admin for Peer-RX staff: users, the audit trail, counties, and what every organisation's admin shares."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest

from accounts.models import AuditEntry, County, User
from accounts.organisations import change_organisation_status
from accounts.services import accept_counties
from core.choices import OrganisationStatus

STATUS_READONLY = ("status", "verified_by", "verified_at", "suspended_by", "suspended_at", "created_at")


@admin.register(User)
class PeerRxUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Contact", {"fields": ("phone",)}))
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_active")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "action", "target_repr", "actor", "detail")
    list_filter = ("action", "target_type")
    search_fields = ("target_repr", "detail", "actor__username")
    list_select_related = ("actor",)
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CountyAcceptedFilter(admin.SimpleListFilter):
    title = "accepted"
    parameter_name = "accepted"

    def lookups(self, request, model_admin):
        return [("no", "Awaiting staff"), ("yes", "Accepted")]

    def queryset(self, request, queryset):
        if self.value() in {"no", "yes"}:
            return queryset.filter(accepted_at__isnull=self.value() == "no")
        return queryset


@admin.register(County)
class CountyAdmin(admin.ModelAdmin):
    """Counties typed at sign-up wait here until accepted; only then do others see them."""

    list_display = ("name", "state", "accepted_at")
    list_filter = (CountyAcceptedFilter, "state")
    search_fields = ("name", "state")
    readonly_fields = ("accepted_at",)
    actions = ["accept"]

    @admin.action(description="Accept the selected counties (every organisation may choose them)")
    def accept(self, request: HttpRequest, queryset: QuerySet) -> None:
        accepted = accept_counties(counties=list(queryset), actor=request.user)
        self.message_user(
            request, f"{accepted} county accepted." if accepted == 1 else f"{accepted} counties accepted."
        )


class MembershipInline(admin.TabularInline):
    """An organisation's members on its admin page, with their users in the same query."""

    extra = 0
    autocomplete_fields = ("user",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user")


class OrganisationAdmin(admin.ModelAdmin):
    """Locations and agencies: pending first, status changed only by audited actions."""

    readonly_fields = STATUS_READONLY
    actions = ["verify", "suspend"]
    list_per_page = 50

    def get_ordering(self, request: HttpRequest) -> list:
        pending_first = Case(
            When(status=OrganisationStatus.PENDING, then=Value(0)),
            When(status=OrganisationStatus.VERIFIED, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
        return [pending_first.asc(), "name"]

    def _change_status(self, request: HttpRequest, queryset: QuerySet, *, status: str, verb: str) -> None:
        changed = []
        reason = "from the admin" if status == OrganisationStatus.SUSPENDED else ""
        for organisation in queryset:
            # The service audits and stamps who/when; the admin log gets its own entry.
            if change_organisation_status(
                organisation=organisation, status=status, actor=request.user, reason=reason
            ):
                self.log_change(request, organisation, f"{verb.capitalize()} from the admin.")
                changed.append(str(organisation))
        unchanged = queryset.count() - len(changed)
        if changed:
            self.message_user(request, f"{verb.capitalize()}: {', '.join(changed)}.", messages.SUCCESS)
        if unchanged:
            self.message_user(request, f"{unchanged} already {verb}, left as they were.", messages.WARNING)

    @admin.action(description="Verify the selected %(verbose_name_plural)s", permissions=["change"])
    def verify(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._change_status(request, queryset, status=OrganisationStatus.VERIFIED, verb="verified")

    @admin.action(description="Suspend the selected %(verbose_name_plural)s", permissions=["change"])
    def suspend(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._change_status(request, queryset, status=OrganisationStatus.SUSPENDED, verb="suspended")
