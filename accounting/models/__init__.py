"""The accounting models, one module a topic. Every model and choice is imported here,
so Django finds the models (app label accounting) and `from accounting.models import X`
works as it always has."""

from accounting.models.audit import AuditEvent, AuditEventRecord
from accounting.models.batches import (
    BatchStatus,
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
    ReconciliationState,
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
from accounting.models.xero import XeroConnection, XeroDocument

__all__ = [
    "GL_ACCOUNT_ROOTS",
    "AccountingSetup",
    "AuditEvent",
    "AuditEventRecord",
    "BatchStatus",
    "DefaultGLAccount",
    "DifferenceClass",
    "ExportFormat",
    "GLAccount",
    "GLAccountType",
    "GLBatch",
    "Package",
    "PackagePayment",
    "Reconciliation",
    "ReconciliationDifference",
    "ReconciliationState",
    "TaxCode",
    "TransferLog",
    "TransferMethod",
    "TransferPart",
    "TransferState",
    "XeroConnection",
    "XeroDocument",
]
