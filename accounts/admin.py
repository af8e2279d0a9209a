"""Admin for Peer-RX staff: users, the audit trail, counties, and what every organisation's admin shares."""

import csv
import datetime as dt

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice

from accounts import mfa
from accounts.models import AuditEntry, County, PendingChange, User
from accounts.organisations import change_organisation_status, review_change, set_member_blocked
from accounts.services import accept_counties
from core.choices import OrganisationStatus
from core.spreadsheets import safe_cell

# Recovery codes are secrets like passwords: staff reset them (the audited user action), never read them.
if admin.site.is_registered(StaticDevice):
    admin.site.unregister(StaticDevice)

STATUS_READONLY = ("status", "verified_by", "verified_at", "suspended_by", "suspended_at", "created_at")


# What only an operator (a superuser) may change on a user: who is staff and what they may do.
PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


class PeerRxUserCreationForm(AdminUserCreationForm):
    """The admin's new-user form: usernames checked like everywhere else (ASCII, unique)."""

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username",)


@admin.register(User)
class PeerRxUserAdmin(UserAdmin):
    add_form = PeerRxUserCreationForm
    fieldsets = (*UserAdmin.fieldsets, ("Contact", {"fields": ("phone",)}))
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_active")
    actions = ["reset_second_factor"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple:
        # Support may correct a name or deactivate an account, never grant itself more.
        readonly = tuple(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return readonly
        return (*readonly, *PRIVILEGE_FIELDS)

    @admin.action(
        description="Reset two-step login (lost phone) for the selected users", permissions=["change"]
    )
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        reset = [
            str(user)
            for user in queryset
            if mfa.remove_second_factor(
                user=user, actor=request.user, reason="lost device, reset from the admin"
            )
        ]
        if reset:
            self.message_user(
                request,
                f"Two-step login reset for {', '.join(reset)}: they set it up again at their next log-in.",
                messages.SUCCESS,
            )
        if len(reset) < queryset.count():
            self.message_user(
                request, "Users without two-step login were left as they were.", messages.WARNING
            )


class ActorFilter(admin.SimpleListFilter):
    """Entries by one person: the staff and members who appear in the trail."""

    title = "actor"
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        actors = User.objects.filter(pk__in=AuditEntry.objects.values("actor").distinct()).order_by(
            "username"
        )
        return [(str(user.pk), user.username) for user in actors]

    def queryset(self, request, queryset):
        value = self.value()
        if value:
            # A hand-typed ?actor= that is no user's id lists nothing rather than failing.
            return (
                queryset.filter(actor_id=int(value))
                if value.isdigit() and len(value) < 19
                else queryset.none()
            )
        return queryset


AUDIT_CSV_HEADER = [
    "when (UTC)",
    "action",
    "actor",
    "target type",
    "target id",
    "target",
    "detail",
    "IP address",
    "user agent",
]


def audit_csv(entries) -> HttpResponse:
    """``entries`` (with their actor selected) as a CSV download, every text cell formula-safe."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="peer-rx-audit-{timezone.now():%Y%m%d-%H%M}.csv"'
    writer = csv.writer(response)
    writer.writerow(AUDIT_CSV_HEADER)
    for entry in entries:
        writer.writerow(
            [
                entry.at.astimezone(dt.UTC).isoformat(),
                safe_cell(entry.action),
                safe_cell(entry.actor.username if entry.actor else ""),
                safe_cell(entry.target_type),
                safe_cell(entry.target_id),
                safe_cell(entry.target_repr),
                safe_cell(entry.detail),
                entry.ip or "",
                safe_cell(entry.user_agent),
            ]
        )
    return response


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The trail, read-only for everyone: filter by action, actor, date and target; export as CSV."""

    list_display = ("at", "action", "target_repr", "actor", "ip", "detail")
    list_filter = ("action", ActorFilter, "target_type", ("at", admin.DateFieldListFilter))
    search_fields = ("target_repr", "target_id", "detail", "actor__username", "ip")
    list_select_related = ("actor",)
    date_hierarchy = "at"
    actions = ["download_csv"]

    def get_actions(self, request):
        # Deleting is not an action here, whatever the permissions say.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Download the selected entries as CSV")
    def download_csv(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> HttpResponse:
        return audit_csv(queryset.select_related("actor").order_by("-at", "-pk"))

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

    @admin.action(
        description="Accept the selected counties (every organisation may choose them)",
        permissions=["change"],
    )
    def accept(self, request: HttpRequest, queryset: QuerySet) -> None:
        accepted = accept_counties(counties=list(queryset), actor=request.user)
        self.message_user(
            request, f"{accepted} county accepted." if accepted == 1 else f"{accepted} counties accepted."
        )


MEMBERSHIP_FIELDS = ("user", "is_admin", "blocked", "blocked_by", "blocked_at", "created_at")
BLOCK_READONLY = ("blocked", "blocked_by", "blocked_at", "created_at")


class MembershipInline(admin.TabularInline):
    """An organisation's members on its admin page, with their users in the same query.

    The block is set by the audited actions of the memberships' own admin list, not here.
    """

    extra = 0
    autocomplete_fields = ("user",)
    fields = MEMBERSHIP_FIELDS
    readonly_fields = BLOCK_READONLY

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user")


class OrganisationAdmin(admin.ModelAdmin):
    """Locations and agencies: pending first, status changed only by audited actions."""

    readonly_fields = STATUS_READONLY
    actions = ["verify", "suspend"]
    list_per_page = 50
    access_fieldset = ("Access", {"fields": ("mfa_required",)})

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if not any("mfa_required" in options.get("fields", ()) for _name, options in fieldsets):
            fieldsets.append(self.access_fieldset)
        return fieldsets

    def get_list_filter(self, request: HttpRequest):
        return (*super().get_list_filter(request), "mfa_required")

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


class MembershipAdmin(admin.ModelAdmin):
    """A location's staff or an agency's supervisors: staff block a member, or lift the block.

    Blocking is audited (``set_member_blocked``) and no member of the organisation can undo it.
    """

    list_display = ("user", "organisation", "is_admin", "blocked", "blocked_by", "blocked_at")
    list_filter = ("blocked", "is_admin")
    search_fields = ("user__username", "user__email", "user__first_name", "user__last_name")
    autocomplete_fields = ("user",)
    readonly_fields = BLOCK_READONLY
    actions = ["block", "unblock"]
    # The organisation's field on the membership ("location" or "agency"), set by subclasses.
    organisation_field = ""

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple:
        # A membership stays with its user and organisation: moving one is a new membership.
        if obj is None:
            return self.readonly_fields
        return (*self.readonly_fields, "user", self.organisation_field)

    def _set_blocked(self, request: HttpRequest, queryset: QuerySet, *, blocked: bool) -> None:
        verb = "blocked" if blocked else "unblocked"
        changed = [
            str(membership)
            for membership in queryset.select_related("user")
            if set_member_blocked(
                membership=membership, blocked=blocked, actor=request.user, reason="from the admin"
            )
        ]
        if changed:
            self.message_user(request, f"{verb.capitalize()}: {', '.join(changed)}.", messages.SUCCESS)
        else:
            self.message_user(request, f"Nothing to do: already {verb}.", messages.WARNING)

    @admin.action(description="Block the selected members (Peer-RX only can lift it)", permissions=["change"])
    def block(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_blocked(request, queryset, blocked=True)

    @admin.action(description="Lift the block of the selected members", permissions=["change"])
    def unblock(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_blocked(request, queryset, blocked=False)


@admin.register(PendingChange)
class PendingChangeAdmin(admin.ModelAdmin):
    """The review queue: a verified organisation's identity changes, waiting ones first."""

    list_display = (
        "organisation_repr",
        "field",
        "old_text",
        "new_text",
        "requested_by",
        "requested_at",
        "decision",
    )
    list_filter = ("decision", "organisation_type", "field")
    search_fields = ("organisation_repr",)
    list_select_related = ("requested_by", "reviewed_by")
    actions = ["approve", "reject"]
    readonly_fields = (
        "organisation_type",
        "organisation_id",
        "organisation_repr",
        "field",
        "old_text",
        "new_text",
        "requested_by",
        "requested_at",
        "reviewed_by",
        "reviewed_at",
        "decision",
    )
    fields = readonly_fields

    def get_ordering(self, request: HttpRequest) -> list:
        waiting_first = Case(When(decision=PendingChange.Decision.PENDING, then=Value(0)), default=Value(1))
        return [waiting_first.asc(), "requested_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def _review(self, request: HttpRequest, queryset: QuerySet, *, approve: bool) -> None:
        verb = "approved" if approve else "rejected"
        done, problems = [], []
        for change in queryset.order_by("requested_at", "id"):
            try:
                if review_change(change=change, approve=approve, actor=request.user):
                    self.log_change(request, change, f"{verb.capitalize()} from the admin.")
                    done.append(str(change))
            except ValidationError as error:
                problems.append(f"{change}: {' '.join(error.messages)}")
        if done:
            self.message_user(request, f"{verb.capitalize()}: {', '.join(done)}.", messages.SUCCESS)
        for problem in problems:
            self.message_user(request, problem, messages.ERROR)
        if not done and not problems:
            self.message_user(request, "Those changes were reviewed already.", messages.WARNING)

    @admin.action(description="Approve the selected changes (they take effect)", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._review(request, queryset, approve=True)

    @admin.action(description="Reject the selected changes (the old values stay)", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._review(request, queryset, approve=False)
