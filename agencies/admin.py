"""Admin for Peer-RX staff: agencies, their supervisors and service area, verify/suspend."""

from django.contrib import admin
from django.http import HttpRequest

from agencies import services
from agencies.models import Agency, AgencyMembership
from locations.admin import STATUS_READONLY, OrganisationAdmin


class AgencyMembershipInline(admin.TabularInline):
    model = AgencyMembership
    extra = 0
    autocomplete_fields = ("user",)
    verbose_name = "supervisor"
    verbose_name_plural = "supervisors"

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("user")


@admin.register(Agency)
class AgencyAdmin(OrganisationAdmin):
    list_display = (
        "name",
        "contact_name",
        "phone",
        "served",
        "status",
        "verified_at",
        "verified_by",
        "created_at",
    )
    list_filter = ("status", "timezone", "counties")
    list_select_related = ("verified_by",)
    search_fields = ("name", "contact_name", "email", "counties__name", "memberships__user__username")
    filter_horizontal = ("counties",)
    inlines = [AgencyMembershipInline]
    fieldsets = (
        (None, {"fields": ("name", "contact_name", "phone", "email", "timezone", "counties")}),
        ("Verification", {"fields": STATUS_READONLY}),
    )

    def get_queryset(self, request: HttpRequest):
        # One extra query for every row's counties, not one per row.
        return super().get_queryset(request).prefetch_related("counties")

    @admin.display(description="counties served")
    def served(self, agency: Agency) -> str:
        return "; ".join(f"{county.name}, {county.state}" for county in agency.counties.all())

    def verify_organisation(self, organisation: Agency, actor) -> bool:
        return services.verify_agency(agency=organisation, actor=actor)

    def suspend_organisation(self, organisation: Agency, actor) -> bool:
        return services.suspend_agency(agency=organisation, actor=actor, reason="from the admin")
