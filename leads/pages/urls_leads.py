"""Web UI routes for leads and companies."""

from django.urls import path

from leads.pages import leads as views

urlpatterns = [
    path("leads/", views.lead_list, name="lead-list"),
    path("leads/new/", views.lead_create, name="lead-create"),
    path("leads/bulk/", views.lead_bulk, name="lead-bulk"),
    path("leads/columns/", views.lead_columns, name="lead-columns"),
    path("leads/bulk/jobs/<int:id>/", views.lead_bulk_job, name="lead-bulk-job"),
    path(
        "leads/bulk/jobs/<int:id>/cancel/", views.lead_bulk_job_cancel, name="lead-bulk-job-cancel"
    ),
    path("leads/<int:id>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:id>/field/<str:name>/", views.lead_field, name="lead-field"),
    path("leads/<int:id>/status/", views.lead_status, name="lead-status"),
    path("leads/<int:id>/attributes/", views.lead_attributes, name="lead-attributes"),
    path("leads/<int:id>/contact/", views.lead_contact, name="lead-contact"),
    path("leads/<int:id>/delete/", views.lead_delete, name="lead-delete"),
    path("leads/<int:id>/assign/", views.lead_assign, name="lead-assign"),
    path("companies/", views.company_list, name="company-list"),
    path("companies/options/", views.company_options, name="company-options"),
    path("companies/new/", views.company_create, name="company-create"),
    path("companies/<int:id>/", views.company_detail, name="company-detail"),
    path("companies/<int:id>/delete/", views.company_delete, name="company-delete"),
]
