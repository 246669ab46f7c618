"""The one door between accounting and the record apps (invoicing, expenses, procurement).

A record app imports from accounting only what this module names; an import contract in
pyproject.toml ("record apps reach accounting only through accounting.door") keeps it
so. What passes through the door, by what the record apps do with it:

- their models point at accounting's setup and batch tables: ``GLAccount`` (of a
  ``GLAccountType``), ``GLBatch``,
  ``TaxCode``, ``AuditEvent``, and declare when a record is ready and how it is batched:
  ``Batching``;
- their adapters register their kind and build postings: ``register``, ``BatchedKind``,
  ``AccountBook``, ``Posting``, ``PostingHeader``, ``to_cents``, ``SALE``, ``BILL``;
- their services lock, refuse changes to records in a batch, and audit each step:
  ``lock_rows``, ``ensure_unlocked``, ``record_item``, ``audit_record``, ``field_changes``,
  and save a change to a record with its audit event in one call: ``save_audited``;
- their step predicates (one per step, asked by the services and the pages alike)
  return a refusal or None, and the services raise it: ``locked_refusal``, ``refuse``;
- their pages show the audit trail and the batch steps of one record: ``audit_trail``,
  ``more_actions``, and whether it changed since it was sent: ``sent_change``;
- their pages and API show what the accounting package says was paid: ``with_payments``,
  ``payment_state``, ``filter_payment_state``, ``PAYMENT_STATES``; and a kind that can
  take the setup's status for fully paid records says how: ``register_paid_status``,
  ``PaidStatus``;
- their API shares the audit trail and the unbatch/rebatch steps of one record:
  ``AuditTrailMixin``, ``BatchStepsMixin``, ``BatchActionsMixin``, ``batch_actions_schema``,
  ``unbatch_schema``, ``rebatch_schema``, ``batch_identifier_field``, ``UNBATCH``.

A name is added here when a record app needs it, never imported around the door.
"""

from accounting.api import (
    UNBATCH,
    AuditTrailMixin,
    BatchActionsMixin,
    BatchStepsMixin,
    batch_actions_schema,
    batch_identifier_field,
    rebatch_schema,
    unbatch_schema,
)
from accounting.audit import audit_record, field_changes, save_audited
from accounting.batch_fields import Batching
from accounting.gl import BILL, SALE, AccountBook, Posting, PostingHeader, to_cents
from accounting.locks import lock_rows
from accounting.models import AuditEvent, GLAccount, GLAccountType, GLBatch, TaxCode
from accounting.payments import (
    PAYMENT_STATES,
    PaidStatus,
    filter_payment_state,
    payment_state,
    register_paid_status,
    with_payments,
)
from accounting.postables import BatchedKind, register
from accounting.rules import ensure_unlocked, locked_refusal, record_item
from accounting.selectors import audit_trail
from accounting.steps import refuse
from accounting.views import more_actions, sent_change

__all__ = [
    "BILL",
    "PAYMENT_STATES",
    "SALE",
    "UNBATCH",
    "AccountBook",
    "AuditEvent",
    "AuditTrailMixin",
    "BatchActionsMixin",
    "BatchStepsMixin",
    "BatchedKind",
    "Batching",
    "GLAccount",
    "GLAccountType",
    "GLBatch",
    "PaidStatus",
    "Posting",
    "PostingHeader",
    "TaxCode",
    "audit_record",
    "audit_trail",
    "batch_actions_schema",
    "batch_identifier_field",
    "ensure_unlocked",
    "field_changes",
    "filter_payment_state",
    "lock_rows",
    "locked_refusal",
    "more_actions",
    "payment_state",
    "rebatch_schema",
    "record_item",
    "refuse",
    "register",
    "register_paid_status",
    "save_audited",
    "sent_change",
    "to_cents",
    "unbatch_schema",
    "with_payments",
]
