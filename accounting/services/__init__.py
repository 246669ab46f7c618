"""The accounting workflows: one function per action, atomic, locked, audited."""

from accounting.services.batch_creation import (
    BATCH_IDENTIFIER_MAX,
    batch_close,
    batch_create,
    batch_delete,
    batch_reopen,
    batch_rerecord,
    batch_retry,
    batch_transfer_run,
    record_rebatch,
    record_unbatch,
    transfer_error_text,
    transfer_sweep,
)

__all__ = [
    "BATCH_IDENTIFIER_MAX",
    "batch_close",
    "batch_create",
    "batch_delete",
    "batch_reopen",
    "batch_rerecord",
    "batch_retry",
    "batch_transfer_run",
    "record_rebatch",
    "record_unbatch",
    "transfer_error_text",
    "transfer_sweep",
]
