"""Admin for Peer-RX staff: peers, credential review, credential types and languages.

Credential status changes only through the validate / reject actions, which go through
``peers.services`` (who and when on the row, the audit trail and Django's admin log).
Documents are never linked by URL: the change page links to the permission-checked
download view.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.admin_a11y import LabelledDateTimesMixin
from accounts.services import record_audit
from peers import selectors, services
from peers.exports import consent_csv
from peers.models import (
    AvailabilityOverride,
    AvailabilityWindow,
    ConsentRecord,
    Credential,
    CredentialType,
    Language,
    Peer,
)


class OptedOutFilter(admin.SimpleListFilter):
    title = "SMS opt-out"
    parameter_name = "opted_out"

    def lookups(self, request, model_admin):
        return [("yes", "Opted out (texted STOP)"), ("no", "Receives texts")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(opted_out_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(opted_out_at__isnull=True)
        return queryset


class ExpiryFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request, model_admin):
        return [("30", "Expiring within 30 days"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "30":
            return selectors.credentials_expiring(today=today, within_days=30, queryset=queryset)
        if self.value() == "expired":
            return queryset.filter(expires_on__lt=today)
        return queryset


class WeeklyHoursFormSet(BaseInlineFormSet):
    """The same rules as the portal's week grid: no empty and no overlapping windows."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        specs = [
            services.WindowSpec(
                weekday=form.cleaned_data["weekday"],
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
            )
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        try:
            services.validate_weekly_hours(specs)
        except ValidationError as error:
            raise ValidationError(error.messages) from error


class AvailabilityWindowInline(admin.TabularInline):
    model = AvailabilityWindow
    formset = WeeklyHoursFormSet
    extra = 0
    fields = ("weekday", "start", "end")


class AvailabilityOverrideInline(admin.TabularInline):
    model = AvailabilityOverride
    extra = 0
    fields = ("starts_at", "ends_at", "is_available", "reason", "source", "created_by", "created_at")
    readonly_fields = ("created_by", "created_at")
    ordering = ("-starts_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")


class CredentialInline(admin.TabularInline):
    model = Credential
    extra = 0
    fields = ("type", "number", "issued_on", "expires_on", "status", "validated_by", "validated_at")
    readonly_fields = ("status", "validated_by", "validated_at")
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("type", "validated_by")


@admin.register(Peer)
class PeerAdmin(LabelledDateTimesMixin, admin.ModelAdmin):
    list_display = ("full_name", "agency", "phone", "is_active", "opted_out", "language_list", "created_at")
    list_filter = ("agency", "is_active", OptedOutFilter, "age_range", "gender")
    list_select_related = ("agency",)
    search_fields = ("first_name", "last_name", "phone", "agency__name")
    filter_horizontal = ("languages",)
    readonly_fields = ("created_at",)
    inlines = [CredentialInline, AvailabilityWindowInline, AvailabilityOverrideInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Peer]:
        return super().get_queryset(request).prefetch_related("languages")

    @admin.display(description="name", ordering="last_name")
    def full_name(self, peer: Peer) -> str:
        return peer.full_name

    @admin.display(description="opted out", boolean=True, ordering="opted_out_at")
    def opted_out(self, peer: Peer) -> bool:
        return peer.opted_out_at is not None

    @admin.display(description="languages")
    def language_list(self, peer: Peer) -> str:
        return ", ".join(language.code for language in peer.languages.all())

    def save_formset(self, request, form, formset, change):
        if formset.model is Credential:
            # Through the service: an edited validated credential goes back to awaiting validation.
            for credential in formset.save(commit=False):
                services.save_edited_credential(
                    credential=credential, actor=request.user, where="in the admin"
                )
            for credential in formset.deleted_objects:
                services.remove_credential(credential=credential, actor=request.user)
            return
        instances = formset.save(commit=False)
        for instance in instances:
            if isinstance(instance, AvailabilityOverride) and instance.pk is None:
                instance.created_by = request.user
        formset.save()
        if formset.model is AvailabilityOverride:
            for instance in instances:
                record_audit(
                    actor=request.user,
                    action="override.set",
                    target=instance.peer,
                    detail=f"in the admin: {instance}",
                )
        elif formset.model is AvailabilityWindow and formset.has_changed():
            record_audit(
                actor=request.user, action="peer.hours_set", target=form.instance, detail="in the admin"
            )


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    # Status next to the peer, so it is on screen at 1280 px whatever the names' lengths.
    list_display = (
        "peer",
        "status",
        "type",
        "expires_on",
        "agency",
        "number",
        "issued_on",
        "validated_by",
        "validated_at",
    )
    list_filter = ("status", ExpiryFilter, "type", "peer__agency")
    list_select_related = ("peer__agency", "type", "validated_by")
    search_fields = ("number", "peer__first_name", "peer__last_name", "peer__agency__name")
    autocomplete_fields = ("peer",)
    fields = (
        "peer",
        "type",
        "number",
        "issued_on",
        "expires_on",
        "document_link",
        "status",
        "validated_by",
        "validated_at",
        "review_note",
        "created_at",
    )
    readonly_fields = ("document_link", "status", "validated_by", "validated_at", "created_at")
    actions = ["validate_selected", "reject_selected"]

    def save_model(self, request: HttpRequest, obj: Credential, form, change: bool) -> None:
        # Through the service: an edited validated credential goes back to awaiting validation.
        services.save_edited_credential(credential=obj, actor=request.user, where="in the admin")

    @admin.display(description="agency", ordering="peer__agency__name")
    def agency(self, credential: Credential) -> str:
        return str(credential.peer.agency)

    @admin.display(description="document")
    def document_link(self, credential: Credential) -> str:
        if not credential.pk or not credential.document:
            return "—"
        url = reverse("peers:credential_document", args=[credential.pk])
        return format_html('<a href="{}">Download the document</a>', url)

    def _review(self, request: HttpRequest, queryset: QuerySet[Credential], *, status: str) -> None:
        review = (
            services.validate_credential
            if status == Credential.Status.VALIDATED
            else services.reject_credential
        )
        now = timezone.now()
        done = 0
        for credential in queryset.select_related("peer", "type"):
            review(credential=credential, actor=request.user, now=now)
            self.log_change(request, credential, f"{Credential.Status(status).label} by {request.user}.")
            done += 1
        label = Credential.Status(status).label.lower()
        self.message_user(request, f"{done} credential{'s' if done != 1 else ''} {label}.", messages.SUCCESS)

    @admin.action(description="Validate selected credentials", permissions=["change"])
    def validate_selected(self, request: HttpRequest, queryset: QuerySet[Credential]) -> None:
        self._review(request, queryset, status=Credential.Status.VALIDATED)

    @admin.action(description="Reject selected credentials", permissions=["change"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Credential]) -> None:
        self._review(request, queryset, status=Credential.Status.REJECTED)


@admin.register(CredentialType)
class CredentialTypeAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "issuing_body",
        "state",
        "qualifies_mental_health",
        "qualifies_substance_use",
        "is_provisional",
    )
    list_filter = ("qualifies_mental_health", "qualifies_substance_use", "is_provisional", "state")
    search_fields = ("code", "name", "issuing_body")


@admin.register(Language)
class LanguageAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    """Every peer's opt-ins and opt-outs: a record, never edited; downloadable as CSV."""

    list_display = ("at", "peer", "phone", "action", "source")
    list_filter = ("action", "source")
    list_select_related = ("peer",)
    search_fields = ("peer__first_name", "peer__last_name", "phone")
    readonly_fields = ("peer", "at", "action", "source", "text", "phone", "actor")
    actions = ["download_csv"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Download the selected records as CSV")
    def download_csv(self, request, queryset):
        return consent_csv(queryset.select_related("peer__agency", "actor").order_by("-at", "-pk"))
