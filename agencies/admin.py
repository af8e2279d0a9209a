"""Admin for Peer-RX staff: agencies, their supervisors and service area.

Verify and suspend come from ``accounts.admin.OrganisationAdmin``, shared with locations.
"""

from django.contrib import admin
from django.http import HttpRequest

from accounts.admin import STATUS_READONLY, MembershipAdmin, MembershipInline, OrganisationAdmin
from agencies.models import Agency, AgencyMembership


@admin.register(AgencyMembership)
class AgencyMembershipAdmin(MembershipAdmin):
    list_select_related = ("user", "agency", "blocked_by")
    list_filter = (*MembershipAdmin.list_filter, "agency__status")
    search_fields = (*MembershipAdmin.search_fields, "agency__name")
    autocomplete_fields = ("user", "agency")
    organisation_field = "agency"


class AgencyMembershipInline(MembershipInline):
    model = AgencyMembership
    verbose_name = "supervisor"
    verbose_name_plural = "supervisors"


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
    filter_horizontal = ("counties", "backup_counties")
    inlines = [AgencyMembershipInline]
    fieldsets = (
        (
            None,
            {"fields": ("name", "contact_name", "phone", "email", "timezone", "counties", "backup_counties")},
        ),
        ("Verification", {"fields": STATUS_READONLY}),
    )

    def get_queryset(self, request: HttpRequest):
        # One extra query for every row's counties, not one per row.
        return super().get_queryset(request).prefetch_related("counties")

    @admin.display(description="counties served")
    def served(self, agency: Agency) -> str:
        return "; ".join(f"{county.name}, {county.state}" for county in agency.counties.all())
