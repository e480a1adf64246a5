from django.urls import path

from casework import audit_views, guide_views, import_views, referral_views, views

app_name = "casework"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("cases/", views.case_list, name="case_list"),
    path("help/", guide_views.guide, name="guide"),
    path("audit/", audit_views.access_log, name="access_log"),
    path("audit/export.csv", audit_views.access_log_csv, name="access_log_csv"),
    path("cases/new/", views.case_create, name="case_create"),
    path("referrals/", referral_views.referral_list, name="referral_list"),
    path("referrals/<int:pk>/accept/", referral_views.referral_accept, name="referral_accept"),
    path("referrals/<int:pk>/decline/", referral_views.referral_decline, name="referral_decline"),
    path("referrals/<int:pk>/end/", referral_views.referral_end, name="referral_end"),
    path("import/", import_views.import_upload, name="import_upload"),
    path("import/<int:pk>/columns/", import_views.import_mapping, name="import_mapping"),
    path("import/<int:pk>/preview/", import_views.import_preview, name="import_preview"),
    path("import/<int:pk>/errors.csv", import_views.import_errors_csv, name="import_errors_csv"),
    path("import/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("import/<int:pk>/cancel/", import_views.import_cancel, name="import_cancel"),
    path(
        "duplicates/<int:pk>/checked/",
        views.duplicate_alert_resolve,
        name="duplicate_alert_resolve",
    ),
    path("cases/<str:reference>/", views.case_detail, name="case_detail"),
    path("cases/<str:reference>/edit/", views.case_edit, name="case_edit"),
    path("cases/<str:reference>/reveal/", views.case_reveal, name="case_reveal"),
    path(
        "cases/<str:reference>/identity-phrase/",
        views.identity_phrase_reveal,
        name="identity_phrase_reveal",
    ),
    path("cases/<str:reference>/status/", views.case_status, name="case_status"),
    path("cases/<str:reference>/assign/", views.case_assign, name="case_assign"),
    path("cases/<str:reference>/refer/", referral_views.referral_create, name="referral_create"),
    path("cases/<str:reference>/consent/", views.case_consent, name="case_consent"),
    path("cases/<str:reference>/relatives/new/", views.relative_add, name="relative_add"),
    path("cases/<str:reference>/events/new/", views.event_add, name="event_add"),
    path("cases/<str:reference>/events/<int:event_id>/", views.event_edit, name="event_edit"),
    path("cases/<str:reference>/events/<int:event_id>/done/", views.event_done, name="event_done"),
    path(
        "cases/<str:reference>/events/<int:event_id>/delete/",
        views.event_delete,
        name="event_delete",
    ),
    path("cases/<str:reference>/procedures/new/", views.procedure_add, name="procedure_add"),
    path(
        "cases/<str:reference>/procedures/<int:case_procedure_id>/",
        views.checklist_edit,
        name="checklist_edit",
    ),
    path(
        "cases/<str:reference>/procedures/<int:case_procedure_id>/remove/",
        views.procedure_remove,
        name="procedure_remove",
    ),
    path("cases/<str:reference>/notes/new/", views.note_add, name="note_add"),
    path("cases/<str:reference>/references/new/", views.reference_add, name="reference_add"),
    path(
        "cases/<str:reference>/references/<int:reference_id>/",
        views.reference_edit,
        name="reference_edit",
    ),
    path(
        "cases/<str:reference>/references/<int:reference_id>/delete/",
        views.reference_delete,
        name="reference_delete",
    ),
    path(
        "cases/<str:reference>/statements/<str:language>/",
        views.statement_edit,
        name="statement_edit",
    ),
    path("cases/<str:reference>/documents/new/", views.document_upload, name="document_upload"),
    path(
        "cases/<str:reference>/documents/<int:document_id>/",
        views.document_download,
        name="document_download",
    ),
]
