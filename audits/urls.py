from django.urls import path

from audits import views

urlpatterns = [
    path("", views.audits_index, name="audits"),
    path("reports/<int:report_id>/", views.report_page, name="audits-report"),
    path("reports/<int:report_id>/findings", views.report_findings, name="audits-findings"),
    path("<slug:codebase>/run", views.audit_run, name="audits-run"),
    path("<slug:codebase>/lanes", views.codebase_lanes, name="audits-lanes"),
]
