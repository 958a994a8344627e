from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerSplitView

from crm import views
from crm.schema import CachedSchemaView
from integrations import api as integrations_api
from leads import api as leads_api
from leads.pages import home

api_v1 = [
    re_path(r"^leads/?$", leads_api.LeadListView.as_view(), name="leads"),
    re_path(r"^leads/stats/?$", leads_api.LeadStatsView.as_view(), name="lead-stats"),
    re_path(r"^leads/reassign/?$", leads_api.LeadReassignView.as_view(), name="lead-reassign"),
    re_path(r"^leads/(?P<id>[0-9]{1,20})/?$", leads_api.LeadDetailView.as_view(), name="lead"),
    re_path(
        r"^leads/(?P<id>[0-9]{1,20})/history/?$",
        leads_api.LeadHistoryView.as_view(),
        name="lead-history",
    ),
    re_path(r"^me/?$", leads_api.MeView.as_view(), name="me"),
    re_path(r"^users/?$", leads_api.UserListView.as_view(), name="users"),
    re_path(r"^companies/?$", leads_api.CompanyListView.as_view(), name="companies"),
    re_path(
        r"^companies/(?P<id>[0-9]{1,20})/?$",
        leads_api.CompanyDetailView.as_view(),
        name="company",
    ),
    re_path(
        r"^integrations/?$", integrations_api.IntegrationListView.as_view(), name="integrations"
    ),
    re_path(
        r"^integrations/(?P<id>[0-9]{1,20})/?$",
        integrations_api.IntegrationDetailView.as_view(),
        name="integration",
    ),
    re_path(
        r"^integrations/(?P<id>[0-9]{1,20})/lists/?$",
        integrations_api.IntegrationListsView.as_view(),
        name="integration-lists",
    ),
    re_path(
        r"^integrations/(?P<id>[0-9]{1,20})/test/?$",
        integrations_api.IntegrationTestView.as_view(),
        name="integration-test",
    ),
    re_path(
        r"^integrations/(?P<id>[0-9]{1,20})/import/?$",
        integrations_api.IntegrationImportView.as_view(),
        name="integration-import",
    ),
    re_path(
        r"^integrations/(?P<id>[0-9]{1,20})/export/?$",
        integrations_api.IntegrationExportView.as_view(),
        name="integration-export",
    ),
    re_path(r"^sync-runs/?$", integrations_api.SyncRunListView.as_view(), name="sync-runs"),
    re_path(
        r"^sync-runs/(?P<id>[0-9]{1,20})/?$",
        integrations_api.SyncRunDetailView.as_view(),
        name="sync-run",
    ),
    re_path(
        r"^sync-runs/(?P<id>[0-9]{1,20})/cancel/?$",
        integrations_api.SyncRunCancelView.as_view(),
        name="sync-run-cancel",
    ),
    re_path(
        r"^sync-runs/(?P<id>[0-9]{1,20})/failures/?$",
        integrations_api.SyncRunFailuresView.as_view(),
        name="sync-run-failures",
    ),
    re_path(r"^schema/?$", CachedSchemaView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script as its own response (?script), so the
    # page needs no inline script under the Content-Security-Policy.
    re_path(
        r"^docs/?$",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
]

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # Only what the product offers (not django.contrib.auth.urls): sign-in and sign-out, a
    # throttled password change, and a throttled reset by email when mail is configured.
    path("accounts/", include("accounts.urls_auth")),
    path("v1/", include(api_v1)),
    path("", include("accounts.urls")),
    path("", include("integrations.urls")),
    path("", include("leads.pages.urls_csv")),
    path("", include("csvimport.urls")),
    path("", include("leads.pages.urls_leads")),
    path("", include("leads.pages.urls_board")),
    path("", include("leads.pages.urls_team")),
]

handler400 = "crm.views.bad_request"
handler404 = "crm.views.not_found"
handler500 = "crm.views.server_error"
