"""Admin for Peer-RX staff: counties, locations, and the verify/suspend actions agencies share."""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest

from core.choices import OrganisationStatus
from locations import services
from locations.models import County, Location, LocationMembership, PreferredAgency
from locations.selectors import MAX_PREFERRED_AGENCIES

STATUS_READONLY = ("status", "verified_by", "verified_at", "suspended_by", "suspended_at", "created_at")


class OrganisationAdmin(admin.ModelAdmin):
    """Locations and agencies: pending first, status changed only by audited actions."""

    verify_service: Callable[..., bool]
    suspend_service: Callable[..., bool]
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

    def _change_status(self, request: HttpRequest, queryset: QuerySet, *, verb: str, service) -> None:
        changed = []
        for organisation in queryset:
            # The service audits and stamps who/when; the admin log gets its own entry.
            if service(organisation, request.user):
                self.log_change(request, organisation, f"{verb.capitalize()} from the admin.")
                changed.append(str(organisation))
        unchanged = queryset.count() - len(changed)
        if changed:
            self.message_user(request, f"{verb.capitalize()}: {', '.join(changed)}.", messages.SUCCESS)
        if unchanged:
            self.message_user(request, f"{unchanged} already {verb}, left as they were.", messages.WARNING)

    @admin.action(description="Verify the selected %(verbose_name_plural)s", permissions=["change"])
    def verify(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._change_status(request, queryset, verb="verified", service=self.verify_organisation)

    @admin.action(description="Suspend the selected %(verbose_name_plural)s", permissions=["change"])
    def suspend(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._change_status(request, queryset, verb="suspended", service=self.suspend_organisation)

    def verify_organisation(self, organisation, actor) -> bool:
        raise NotImplementedError

    def suspend_organisation(self, organisation, actor) -> bool:
        raise NotImplementedError


@admin.register(County)
class CountyAdmin(admin.ModelAdmin):
    list_display = ("name", "state")
    list_filter = ("state",)
    search_fields = ("name", "state")


class LocationMembershipInline(admin.TabularInline):
    model = LocationMembership
    extra = 0
    autocomplete_fields = ("user",)
    verbose_name = "staff member"
    verbose_name_plural = "staff members"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user")


class PreferredAgencyForm(forms.ModelForm):
    class Meta:
        model = PreferredAgency
        fields = ("agency", "rank")

    def validate_unique(self) -> None:
        # Rows are replaced as a whole on save (see save_formset), so swapping two ranks
        # must not clash with the rows as they are now; the formset checks duplicates.
        pass


class PreferredAgencyFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        location = self.instance
        problems = []
        for form in self.forms:
            if not form.is_valid() or form in self.deleted_forms or not form.cleaned_data.get("agency"):
                continue
            agency = form.cleaned_data["agency"]
            if agency.status != OrganisationStatus.VERIFIED:
                problems.append(f"{agency} is not verified.")
            elif location.county_id and not agency.counties.filter(pk=location.county_id).exists():
                problems.append(f"{agency} does not serve {location.county}.")
        if problems:
            raise ValidationError(problems)


class PreferredAgencyInline(admin.TabularInline):
    model = PreferredAgency
    form = PreferredAgencyForm
    formset = PreferredAgencyFormSet
    extra = 0
    max_num = MAX_PREFERRED_AGENCIES
    autocomplete_fields = ("agency",)
    verbose_name_plural = "preferred agencies (rank 1 is the most preferred; ranks close up on save)"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("agency")


@admin.register(Location)
class LocationAdmin(OrganisationAdmin):
    list_display = ("name", "kind", "county", "status", "verified_at", "verified_by", "created_at")
    list_filter = ("status", "kind", "county__state", "county")
    list_select_related = ("county", "verified_by")
    search_fields = (
        "name",
        "address",
        "county__name",
        "memberships__user__username",
        "memberships__user__email",
    )
    autocomplete_fields = ("county",)
    inlines = [LocationMembershipInline, PreferredAgencyInline]
    fieldsets = (
        (None, {"fields": ("name", "kind", "address", "county", "timezone", "notification_phone")}),
        ("Verification", {"fields": STATUS_READONLY}),
    )

    def verify_organisation(self, organisation: Location, actor) -> bool:
        return services.verify_location(location=organisation, actor=actor)

    def suspend_organisation(self, organisation: Location, actor) -> bool:
        return services.suspend_location(location=organisation, actor=actor, reason="from the admin")

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not PreferredAgency:
            return super().save_formset(request, form, formset, change)
        if not formset.has_changed():
            return None
        ranked = sorted(
            (f.cleaned_data["rank"], f.cleaned_data["agency"])
            for f in formset.forms
            if f.cleaned_data.get("agency") and f not in formset.deleted_forms
        )
        previous = list(PreferredAgency.objects.filter(location=form.instance).select_related("agency"))
        rows = services.replace_preferred_agencies(
            location=form.instance, agencies=[agency for _rank, agency in ranked], actor=request.user
        )
        # What formset.save() would have set, for the admin log's change message.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = rows, [], previous
        return None
