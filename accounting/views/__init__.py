"""Finance > Accounting Interface and MORE > Unbatch / Rebatch of any record, one module
a page or group of steps:

- `unposted`: the unposted tabs with the Creation part;
- `batches`: Open Batches and a batch's page; `batch_steps`: the steps on one batch;
- `books_check`: the books check's runs, differences, CSV export and fixes;
- `records`: MORE > Unbatch / Rebatch of any record, and the MORE menu;
- `xero`: Finance > Setup > Xero, connecting through the OAuth 2.0 code flow;
- `dashboard`: the Finance dashboard;
- `sent_changes`: the "changed since sent" mark of a record page and its steps;
- `common`: the permissions, lookups and tabs they share.

Each view checks its input, calls one service and renders; a refused step becomes a
message in the page. Accounting does not import the record apps: records are reached
through the registry of postable kinds, and linked to by URL name (`core.web`). The
views the URL conf and the record apps use are re-exported here.
"""

from accounting.views.batch_steps import (
    batch_close,
    batch_delete,
    batch_reopen,
    batch_rerecord,
    batch_retry,
)
from accounting.views.batches import (
    batch_action,
    batch_checklist,
    batch_detail,
    batch_file,
    batch_list,
    batch_progress,
    batch_records,
)
from accounting.views.books_check import (
    books_check,
    books_check_csv,
    books_check_fix,
    books_check_progress,
    books_check_start,
    books_check_upload,
    payments_refresh,
)
from accounting.views.dashboard import dashboard
from accounting.views.records import more_actions, record_rebatch, record_unbatch
from accounting.views.sent_changes import record_sent_confirm, record_sent_update, sent_change
from accounting.views.unposted import interface, unposted, unposted_export
from accounting.views.xero import xero_callback, xero_connect, xero_tenant

__all__ = [
    "batch_action",
    "batch_checklist",
    "batch_close",
    "batch_delete",
    "batch_detail",
    "batch_file",
    "batch_list",
    "batch_progress",
    "batch_records",
    "batch_reopen",
    "batch_rerecord",
    "batch_retry",
    "books_check",
    "books_check_csv",
    "books_check_fix",
    "books_check_progress",
    "books_check_start",
    "books_check_upload",
    "dashboard",
    "interface",
    "more_actions",
    "payments_refresh",
    "record_rebatch",
    "record_sent_confirm",
    "record_sent_update",
    "record_unbatch",
    "sent_change",
    "unposted",
    "unposted_export",
    "xero_callback",
    "xero_connect",
    "xero_tenant",
]
