"""Reads of the accounting interface: unposted records, batches, their items and
exports, what was sent, and audit trails. One module per topic; every read is named
here, so `from accounting import selectors; selectors.X` reaches it."""

from accounting.selectors.audit import audit_trail
from accounting.selectors.batches import (
    PARTS,
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
    former_counts,
    former_page,
    former_rows,
    rerecordable,
    rerecordable_refs,
)
from accounting.selectors.books import (
    latest_reconciliation,
    paid_amount,
    paid_records,
    reconciliation_differences,
    reconciliation_list,
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
    "PARTS",
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
    "batch_summaries",
    "batch_unbatched_refs",
    "batches_in_transfer_state",
    "default_accounts",
    "deleted_batch_changes",
    "former_counts",
    "former_page",
    "former_rows",
    "latest_reconciliation",
    "live_sends",
    "live_sends_in_batch",
    "paid_amount",
    "paid_records",
    "parse_unposted_cursor",
    "reconciliation_differences",
    "reconciliation_list",
    "rerecordable",
    "rerecordable_refs",
    "sent_logs",
    "unposted_count",
    "unposted_items",
    "unposted_list",
    "unposted_page",
]
