from django.urls import path

from letters import views

app_name = "letters"
urlpatterns = [
    path("new/<str:reference>/", views.letter_new, name="letter_new"),
    path("<int:letter_id>/", views.letter_detail, name="letter_detail"),
    path("<int:letter_id>/preview/", views.letter_preview, name="letter_preview"),
    path("<int:letter_id>/preview.pdf", views.letter_preview_pdf, name="letter_preview_pdf"),
    path("<int:letter_id>/submit/", views.letter_submit, name="letter_submit"),
    path("<int:letter_id>/return/", views.letter_return, name="letter_return"),
    path("<int:letter_id>/approve/", views.letter_approve, name="letter_approve"),
    path("<int:letter_id>/issue/", views.letter_issue, name="letter_issue"),
    path("<int:letter_id>/revoke/", views.letter_revoke, name="letter_revoke"),
    path("<int:letter_id>/retry/", views.letter_retry, name="letter_retry"),
    path("<int:letter_id>/correct/", views.letter_correct, name="letter_correct"),
    path("<int:letter_id>/download/", views.letter_download, name="letter_download"),
    path(
        "<int:letter_id>/paragraphs/<int:paragraph_id>/insert/",
        views.letter_insert_paragraph,
        name="letter_insert_paragraph",
    ),
    path("register/", views.register, name="register"),
    path("review/", views.review_queue, name="review_queue"),
    path("approved/", views.approved_letters, name="approved_letters"),
    path("batches/new/", views.batch_new, name="batch_new"),
    path("batches/approved/", views.batch_approved_new, name="batch_approved_new"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch_detail"),
    path("batches/<int:batch_id>/approve/", views.batch_approve, name="batch_approve"),
    path("batches/<int:batch_id>/letters.zip", views.batch_zip, name="batch_zip"),
    path("batches/<int:batch_id>/register.csv", views.batch_csv, name="batch_csv"),
]
