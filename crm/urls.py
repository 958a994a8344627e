from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from crm import views
from leads import api as leads_api

api_v1 = [
    re_path(r"^leads/?$", leads_api.LeadListView.as_view(), name="leads"),
    re_path(r"^leads/stats/?$", leads_api.LeadStatsView.as_view(), name="lead-stats"),
    re_path(r"^leads/(?P<id>[0-9]{1,20})/?$", leads_api.LeadDetailView.as_view(), name="lead"),
    re_path(
        r"^leads/(?P<id>[0-9]{1,20})/history/?$",
        leads_api.LeadHistoryView.as_view(),
        name="lead-history",
    ),
    re_path(r"^companies/?$", leads_api.CompanyListView.as_view(), name="companies"),
    re_path(
        r"^companies/(?P<id>[0-9]{1,20})/?$",
        leads_api.CompanyDetailView.as_view(),
        name="company",
    ),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("v1/", include(api_v1)),
]

handler404 = "crm.views.not_found"
handler500 = "crm.views.server_error"
