"""Reads of the accounting interface: unposted records, batches, their items and
exports, what was sent, and audit trails. One module per topic; every read is named
here, so `from accounting import selectors; selectors.X` reaches it."""

from accounting.selectors.audit import audit_trail
from accounting.selectors.batches import (
    batch_counts,
    batch_gl_export,
    batch_holding,
    batch_item,
    batch_item_rows,
    batch_items,
    batch_list,
    batch_resend_checklist,
    batch_summaries,
    batch_unbatched_refs,
    batches_in_transfer_state,
    deleted_batch_changes,
    rerecordable,
)
from accounting.selectors.books import (
    latest_reconciliation,
    paid_amount,
    paid_records,
    reconciliation_differences,
    reconciliation_list,
)
from accounting.selectors.changes import (
    PostedValues,
    SentChange,
    batch_sent_changes,
    batches_sent_changes,
    record_sent_change,
    sent_changes,
)
from accounting.selectors.sends import live_sends, live_sends_in_batch, sent_logs
from accounting.selectors.setup import accounting_setup, default_accounts
from accounting.selectors.unposted import (
    UnpostedPage,
    UnpostedPosition,
    parse_unposted_cursor,
    unposted_count,
    unposted_items,
    unposted_list,
    unposted_page,
)

__all__ = [
    "PostedValues",
    "SentChange",
    "UnpostedPage",
    "UnpostedPosition",
    "accounting_setup",
    "audit_trail",
    "batch_counts",
    "batch_gl_export",
    "batch_holding",
    "batch_item",
    "batch_item_rows",
    "batch_items",
    "batch_list",
    "batch_resend_checklist",
    "batch_sent_changes",
    "batch_summaries",
    "batch_unbatched_refs",
    "batches_in_transfer_state",
    "batches_sent_changes",
    "default_accounts",
    "deleted_batch_changes",
    "latest_reconciliation",
    "live_sends",
    "live_sends_in_batch",
    "paid_amount",
    "paid_records",
    "parse_unposted_cursor",
    "reconciliation_differences",
    "reconciliation_list",
    "record_sent_change",
    "rerecordable",
    "sent_changes",
    "sent_logs",
    "unposted_count",
    "unposted_items",
    "unposted_list",
    "unposted_page",
]
