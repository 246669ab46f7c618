"""The accounting workflows: one function per action, atomic, locked, audited.

Every function takes the acting user and keyword-only arguments, refuses a step with
an `ApplicationError` (a stable code (docs/api.md, "Errors"), a sentence naming the
record and the way out) and then changes nothing. Each step's refusal comes from its
predicate in `accounting.steps`, which the pages and the API ask too. Locks are taken through
`accounting.locks`, in its one order. One module a topic:

- `batch_creation`: creating a batch, and re-recording a deleted batch's records;
- `external`: recording a batch an integration tool sent itself;
- `batches`: delete, close, reopen a batch, retry its transfer;
- `records`: unbatch and rebatch one record;
- `setup`: the accounting package setup;
- `sent_changes`: bringing the package in line with a record changed since sent
  (by hand, or through the connector), and the re-send of one record they share;
- `reconciliation`: starting a books check, and the one-click fixes of what it found;
- `common`: what they share.

A transfer itself, and its state changes, are in `accounting.transfer`; the workflows
hand it to the queue through `accounting.tasks.queue_transfer`. The names used
elsewhere are re-exported here (`from accounting import services;
services.batch_create(...)`).
"""

from accounting.services.batch_creation import BATCH_IDENTIFIER_MAX, batch_create, batch_rerecord
from accounting.services.batches import batch_close, batch_delete, batch_reopen, batch_retry
from accounting.services.external import SentRecord, batch_record_external
from accounting.services.reconciliation import (
    FIXABLE,
    difference_fix,
    payments_refresh,
    reconciliation_start,
    reconciliation_upload,
)
from accounting.services.records import batch_records_step, record_rebatch, record_unbatch
from accounting.services.sent_changes import record_resend, sent_change_confirm, sent_change_send
from accounting.transfer import batch_transfer_run

__all__ = [
    "BATCH_IDENTIFIER_MAX",
    "FIXABLE",
    "SentRecord",
    "batch_close",
    "batch_create",
    "batch_delete",
    "batch_record_external",
    "batch_records_step",
    "batch_reopen",
    "batch_rerecord",
    "batch_retry",
    "batch_transfer_run",
    "difference_fix",
    "payments_refresh",
    "reconciliation_start",
    "reconciliation_upload",
    "record_rebatch",
    "record_resend",
    "record_unbatch",
    "sent_change_confirm",
    "sent_change_send",
]
