"""The accounting models, one module a topic. Every model and choice is imported here,
so Django finds the models (app label accounting) and `from accounting.models import X`
works as it always has."""

from accounting.models.audit import AuditEvent, AuditEventRecord, AuditRecordSet
from accounting.models.batches import (
    BatchStatus,
    FormerCount,
    FormerRecord,
    FormerState,
    GLBatch,
    TransferLog,
    TransferMethod,
    TransferPart,
    TransferState,
)
from accounting.models.books import (
    DifferenceClass,
    PackagePayment,
    Reconciliation,
    ReconciliationDifference,
    ReconciliationSource,
    ReconciliationState,
    ReconciliationUploadLine,
    UploadFormat,
)
from accounting.models.setup import (
    GL_ACCOUNT_ROOTS,
    AccountingSetup,
    DefaultGLAccount,
    ExportFormat,
    GLAccount,
    GLAccountType,
    Package,
    TaxCode,
)
from accounting.models.xero import XeroCall, XeroConnection, XeroDocument

__all__ = [
    "GL_ACCOUNT_ROOTS",
    "AccountingSetup",
    "AuditEvent",
    "AuditEventRecord",
    "AuditRecordSet",
    "BatchStatus",
    "DefaultGLAccount",
    "DifferenceClass",
    "ExportFormat",
    "FormerCount",
    "FormerRecord",
    "FormerState",
    "GLAccount",
    "GLAccountType",
    "GLBatch",
    "Package",
    "PackagePayment",
    "Reconciliation",
    "ReconciliationDifference",
    "ReconciliationSource",
    "ReconciliationState",
    "ReconciliationUploadLine",
    "TaxCode",
    "TransferLog",
    "TransferMethod",
    "TransferPart",
    "TransferState",
    "UploadFormat",
    "XeroCall",
    "XeroConnection",
    "XeroDocument",
]
