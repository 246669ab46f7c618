"""The accounting interface over HTTP (docs/api.md, "Reference data and setup" and "The accounting
interface"), one module a topic:

- `records`: what the record apps' APIs share (record kinds, the audit trail, the
  unbatch and rebatch steps of one record, the permissions of the accounting steps);
- `reference`: GL accounts and tax codes;
- `setup`: the accounting package setup;
- `unposted`: finished records in no batch;
- `batches` (and `batch_serializers`): GL batches and the workflows on them;
- `reconciliations`: the books check's runs, their differences and fixes.

The names the record apps and the URL conf use are re-exported here.
"""

from accounting.api.batch_serializers import BatchSerializer
from accounting.api.batches import BatchViewSet
from accounting.api.reconciliations import DifferenceViewSet, ReconciliationViewSet
from accounting.api.records import (
    REBATCH_CONFLICTS,
    TRANSFER,
    UNBATCH,
    UNBATCH_CONFLICTS,
    VIEW_BATCHES,
    AuditEventSerializer,
    AuditTrailMixin,
    BatchActionsMixin,
    BatchStepsMixin,
    RecordTypeField,
    audit_response,
    batch_actions_schema,
    batch_identifier_field,
    rebatch_schema,
    unbatch_schema,
)
from accounting.api.reference import GLAccountViewSet, TaxCodeViewSet
from accounting.api.setup import (
    SetupAuditView,
    SetupRestoreOptionsView,
    SetupTestConnectionView,
    SetupView,
)
from accounting.api.unposted import UnpostedView

__all__ = [
    "REBATCH_CONFLICTS",
    "TRANSFER",
    "UNBATCH",
    "UNBATCH_CONFLICTS",
    "VIEW_BATCHES",
    "AuditEventSerializer",
    "AuditTrailMixin",
    "BatchActionsMixin",
    "BatchSerializer",
    "BatchStepsMixin",
    "BatchViewSet",
    "DifferenceViewSet",
    "GLAccountViewSet",
    "ReconciliationViewSet",
    "RecordTypeField",
    "SetupAuditView",
    "SetupRestoreOptionsView",
    "SetupTestConnectionView",
    "SetupView",
    "TaxCodeViewSet",
    "UnpostedView",
    "audit_response",
    "batch_actions_schema",
    "batch_identifier_field",
    "rebatch_schema",
    "unbatch_schema",
]
