from django.urls import include, path

from accounting import views

app_name = "accounting"

urlpatterns = [
    path("finance/accounting-interface/", views.interface, name="interface"),
    path(
        "finance/accounting-interface/unposted/<str:record_type>/",
        views.unposted,
        name="unposted",
    ),
    path(
        "finance/accounting-interface/unposted/<str:record_type>/export.csv",
        views.unposted_export,
        name="unposted_export",
    ),
    path("finance/accounting-interface/batches/", views.batch_list, name="batch_list"),
    path("finance/accounting-interface/batches/actions/", views.batch_action, name="batch_action"),
    path(
        "finance/accounting-interface/batches/<int:batch_id>/",
        views.batch_detail,
        name="batch_detail",
    ),
    path(
        "finance/accounting-interface/batches/<int:batch_id>/progress/",
        views.batch_progress,
        name="batch_progress",
    ),
    path(
        "finance/accounting-interface/batches/<int:batch_id>/file/",
        views.batch_file,
        name="batch_file",
    ),
    path(
        "finance/accounting-interface/batches/<int:batch_id>/records/",
        views.batch_records,
        name="batch_records",
    ),
    path(
        "finance/accounting-interface/batches/<int:batch_id>/close/",
        views.batch_close,
        name="batch_close",
    ),
    path(
        "finance/accounting-interface/batches/<int:batch_id>/delete/",
        views.batch_delete,
        name="batch_delete",
    ),
    path(
        "finance/accounting-interface/batches/<int:batch_id>/checklist.csv",
        views.batch_checklist,
        name="batch_checklist",
    ),
    path(
        "finance/accounting-interface/batches/<int:batch_id>/reopen/",
        views.batch_reopen,
        name="batch_reopen",
    ),
    path(
        "finance/accounting-interface/batches/<int:batch_id>/retry/",
        views.batch_retry,
        name="batch_retry",
    ),
    path(
        "finance/accounting-interface/batches/<int:batch_id>/rerecord/",
        views.batch_rerecord,
        name="batch_rerecord",
    ),
    path("finance/setup/", include("accounting.setup_urls")),
    path("finance/setup/xero/", views.xero_connect, name="xero-connect"),
    path("finance/setup/xero/callback/", views.xero_callback, name="xero-callback"),
    path("finance/setup/xero/organisation/", views.xero_tenant, name="xero-tenant"),
    path("finance/dashboard/", views.dashboard, name="dashboard"),
    path("finance/books-check/", views.books_check, name="books_check"),
    path("finance/books-check/start/", views.books_check_start, name="books_check_start"),
    path("finance/books-check/upload/", views.books_check_upload, name="books_check_upload"),
    path("finance/books-check/payments/", views.payments_refresh, name="payments_refresh"),
    path("finance/books-check/differences.csv", views.books_check_csv, name="books_check_csv"),
    path(
        "finance/books-check/<int:run_id>/progress/",
        views.books_check_progress,
        name="books_check_progress",
    ),
    path(
        "finance/books-check/differences/<int:difference_id>/fix/",
        views.books_check_fix,
        name="books_check_fix",
    ),
    path(
        "records/<str:record_type>/<int:record_id>/unbatch/",
        views.record_unbatch,
        name="record_unbatch",
    ),
    path(
        "records/<str:record_type>/<int:record_id>/rebatch/",
        views.record_rebatch,
        name="record_rebatch",
    ),
    path(
        "records/<str:record_type>/<int:record_id>/package-updated/",
        views.record_sent_confirm,
        name="record_sent_confirm",
    ),
    path(
        "records/<str:record_type>/<int:record_id>/update-in-package/",
        views.record_sent_update,
        name="record_sent_update",
    ),
]
