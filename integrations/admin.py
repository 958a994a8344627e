"""Integrations and sync runs in the admin. Credentials are never shown: only their hint."""

from __future__ import annotations

from django.contrib import admin, messages

from integrations import engine, services
from integrations.models import ExternalLink, Integration, SyncFailure, SyncRun


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["provider", "user", "credentials_hint", "state", "schedule", "updated_at"]
    list_filter = ["provider", "state", "schedule"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    # The encrypted columns are not editable model fields, so no form ever renders them.
    fields = [
        "user",
        "provider",
        "credentials_hint",
        "import_list_id",
        "export_list_id",
        "export_campaign_id",
        "schedule",
        "assign",
        "assign_to",
        "state",
        "last_error",
        "created_at",
        "updated_at",
    ]
    # Assignment is checked against the owner's team where the owner sets it (API, web page).
    readonly_fields = [
        "assign",
        "assign_to",
        "user",
        "provider",
        "credentials_hint",
        "state",
        "last_error",
        "created_at",
        "updated_at",
    ]
    actions = ["test_connection"]

    def has_add_permission(self, request) -> bool:
        # Credentials are entered by their owner through the API or the web UI.
        return False

    @admin.action(description="Test the connection of the selected integrations")
    def test_connection(self, request, queryset):
        for integration in queryset:
            ok, detail = services.integration_test(integration=integration)
            if ok:
                messages.success(request, f"{integration}: connected.")
            else:
                messages.error(request, f"{integration}: {detail}")


class SyncFailureInline(admin.TabularInline):
    model = SyncFailure
    fields = ["record", "detail", "at"]
    readonly_fields = ("record", "detail", "at")
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["id"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "provider",
        "direction",
        "user",
        "state",
        "processed",
        "total",
        "created",
        "updated",
        "failed",
        "started_at",
        "finished_at",
    ]
    list_filter = ["state", "provider", "direction"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    ordering = ["-id"]
    show_full_result_count = False
    inlines = [SyncFailureInline]
    readonly_fields = [
        field.name for field in SyncRun._meta.get_fields() if getattr(field, "concrete", False)
    ]
    actions = ["cancel_runs"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Cancel the selected runs")
    def cancel_runs(self, request, queryset):
        cancelled = 0
        for run in queryset.filter(state__in=SyncRun.ACTIVE_STATES):
            engine.run_cancel(run=run)
            cancelled += 1
        messages.success(request, f"Asked {cancelled} run(s) to stop.")


@admin.register(ExternalLink)
class ExternalLinkAdmin(admin.ModelAdmin):
    list_display = ["integration", "vendor_id", "lead", "created_at"]
    list_select_related = ["integration__user", "lead"]
    search_fields = ["vendor_id"]
    raw_id_fields = ["lead", "integration"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
