"""Admin for Peer-RX staff: locations, their staff and ranked preferred agencies.

Verify and suspend come from ``accounts.admin.OrganisationAdmin``, shared with agencies.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin import STATUS_READONLY, MembershipAdmin, MembershipInline, OrganisationAdmin
from core.choices import OrganisationStatus
from locations import services
from locations.models import Location, LocationMembership, PreferredAgency
from locations.selectors import MAX_PREFERRED_AGENCIES


@admin.register(LocationMembership)
class LocationMembershipAdmin(MembershipAdmin):
    list_select_related = ("user", "location", "blocked_by")
    list_filter = (*MembershipAdmin.list_filter, "location__status")
    search_fields = (*MembershipAdmin.search_fields, "location__name")
    autocomplete_fields = ("user", "location")
    organisation_field = "location"


class LocationMembershipInline(MembershipInline):
    model = LocationMembership
    verbose_name = "staff member"
    verbose_name_plural = "staff members"


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
            if not form.has_changed() or not form.is_valid() or form in self.deleted_forms:
                continue  # a view-only inline's forms never change
            if not form.cleaned_data.get("agency"):
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

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not PreferredAgency:
            return super().save_formset(request, form, formset, change)
        if not formset.has_changed():
            # Nothing to replace (or a view-only inline): nothing for the admin log either.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
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
