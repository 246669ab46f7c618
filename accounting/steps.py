"""One predicate per step on a GL batch, and on one record's place in a batch.

Each returns the refusal of its step (an `ApplicationError` whose message names the
batch or record and the way out) or None when the step applies. The services raise
what it returns (`refuse`), after taking their locks; the pages and the API offer a
step only when its predicate returns None, and show the same sentence when it does
not, without running the step.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from accounting import selectors
from accounting.models import BatchStatus, GLBatch, TransferState
from accounting.postables import PostableKind
from core.errors import ApplicationError, InvalidInput

Refusal = ApplicationError | None


def refuse(refusal: Refusal) -> None:
    """Raise a step's refusal, if it has one."""
    if refusal is not None:
        raise refusal


# --- a whole batch -------------------------------------------------------------------------


def _not_open(batch: GLBatch, doing: str) -> Refusal:
    if batch.status == BatchStatus.DELETED:
        return ApplicationError(
            f"GL batch {batch.batch_identifier} was deleted already.", code="batch_not_open"
        )
    if batch.status == BatchStatus.CLOSED:
        return ApplicationError(
            f"GL batch {batch.batch_identifier} is closed and cannot be {doing}. An "
            "administrator can reopen it.",
            code="batch_not_open",
        )
    return None


def transferring(batch: GLBatch, reference: str, code: str) -> Refusal:
    """While a live process sends the batch, nothing leaves or joins it; an interrupted
    transfer (its lease expired) locks nothing."""
    if batch.is_transferring():
        return ApplicationError(
            f"GL batch {batch.batch_identifier} is being transferred right now, so "
            f"{reference} cannot leave or join it. Wait until the transfer is done.",
            code=code,
        )
    return None


def _unbatched_items(batch: GLBatch, doing: str) -> Refusal:
    # A page asks both close and delete of one batch: the records outside it are read
    # once per batch object (a service locks, and so reads, a fresh one).
    if not hasattr(batch, "_outside_refs"):
        batch._outside_refs = selectors.batch_unbatched_refs(batch)
    outside = batch._outside_refs
    if not outside:
        return None
    names = ", ".join(ref.reference for ref in outside[:5])
    more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
    one = len(outside) == 1
    return ApplicationError(
        f"GL batch {batch.batch_identifier} cannot be {doing}: {names}{more} "
        f"{'was' if one else 'were'} unbatched from it and {'is' if one else 'are'} still "
        f"outside it. Rebatch {'it' if one else 'them'} first (MORE > Rebatch).",
        code="batch_has_unbatched_items",
        extra={"items": [ref.as_item() for ref in outside]},
    )


def delete_refusal(batch: GLBatch) -> Refusal:
    return (
        _not_open(batch, "deleted")
        or transferring(batch, "its records", "batch_not_open")
        or _unbatched_items(batch, "deleted")
    )


def close_refusal(batch: GLBatch) -> Refusal:
    refusal = _not_open(batch, "closed")
    if refusal is None and batch.transfer_state != TransferState.DONE:
        refusal = ApplicationError(
            f"GL batch {batch.batch_identifier} has not been transferred (its transfer is "
            f"{batch.transfer_state}). Wait for the transfer, or retry it, before closing.",
            code="invalid_transition",
        )
    return refusal or _unbatched_items(batch, "closed")


def reopen_permission_refusal(actor: AbstractBaseUser) -> Refusal:
    if not actor.has_perm("accounting.reopen_glbatch"):
        return ApplicationError(
            "Only an administrator can reopen a closed GL batch.",
            code="permission_denied",
            status_code=403,
        )
    return None


def reopen_refusal(batch: GLBatch, actor: AbstractBaseUser) -> Refusal:
    """An administrator's way back from closing a batch by mistake."""
    refusal = reopen_permission_refusal(actor)
    if refusal is None and batch.status != BatchStatus.CLOSED:
        refusal = ApplicationError(
            f"GL batch {batch.batch_identifier} is {batch.status}; only a closed batch can be "
            "reopened.",
            code="invalid_transition",
        )
    return refusal


def retry_refusal(batch: GLBatch) -> Refusal:
    """Only a failed or interrupted transfer (a running one whose lease expired: its
    process is gone) of a batch that still exists is queued again."""
    state = batch.current_transfer_state
    retryable = (TransferState.FAILED, TransferState.INTERRUPTED)
    if state not in retryable or batch.status == BatchStatus.DELETED:
        return ApplicationError(
            f"GL batch {batch.batch_identifier}'s transfer is {state}; only a failed or "
            "interrupted transfer can be retried.",
            code="invalid_transition",
        )
    return None


def rerecord_state_refusal(batch: GLBatch) -> Refusal:
    if batch.status != BatchStatus.DELETED:
        return ApplicationError(
            f"GL batch {batch.batch_identifier} is {batch.status}; only the records of a "
            "deleted batch can be re-recorded.",
            code="invalid_transition",
        )
    return None


def nothing_to_rerecord(batch: GLBatch, wanted: Any) -> Refusal:
    if wanted:
        return None
    return InvalidInput(
        f"No unchanged record of GL batch {batch.batch_identifier} is left to re-record.",
        fields={"items": ["Nothing to re-record."]},
    )


def identifier_in_use(identifier: str) -> Refusal:
    if selectors.batch_holding(identifier) is not None:
        return ApplicationError(
            f"Batch ID {identifier} is already used by an open or closed batch. Type another "
            "batch ID, or leave it empty to have one generated.",
            code="batch_identifier_in_use",
        )
    return None


def rerecord_refusal(batch: GLBatch, counts: dict[str, int] | None = None) -> Refusal:
    """Re-recording every unchanged former record of a deleted batch (what its page
    offers; `counts` are its `selectors.former_counts` when the caller has them);
    the service also checks the records a caller chooses."""
    refusal = rerecord_state_refusal(batch)
    if refusal is not None:
        return refusal
    if counts is None:
        counts = selectors.former_counts(batch)
    return nothing_to_rerecord(batch, counts["rerecordable"]) or identifier_in_use(
        batch.batch_identifier
    )


# --- one record ----------------------------------------------------------------------------


def unbatch_refusal(kind: PostableKind, record: Any, batch: GLBatch | None) -> Refusal:
    """Taking a record out of its batch (`batch`, the one it is in) to edit it."""
    if batch is None:
        return ApplicationError(
            f"{kind.reference(record)} is not in a GL batch; there is nothing to unbatch.",
            code="not_batched",
        )
    reference = kind.reference(record)
    if not batch.is_open():
        return ApplicationError(
            f"{reference} is in GL batch {batch.batch_identifier}, which is {batch.status}; "
            "records of a closed batch cannot be unbatched. An administrator can reopen the "
            "batch.",
            code="batch_not_open",
        )
    return transferring(batch, reference, "batch_not_open")


def rebatch_refusal(kind: PostableKind, record: Any, original: GLBatch | None) -> Refusal:
    """Putting an unbatched record back into `original`, the batch it left (None when
    it never left one), when it is in no batch and ready."""
    if getattr(record, f"{kind.batch_field}_id") is not None:
        return ApplicationError(
            f"{kind.reference(record)} is already in a GL batch; unbatch it first if it "
            "needs changing.",
            code="already_batched",
        )
    if original is None:
        return ApplicationError(
            f"{kind.reference(record)} was never unbatched, so it has no original batch to go "
            "back to. Send it in a new batch from the Accounting Interface.",
            code="no_original_batch",
        )
    reference = kind.reference(record)
    if not original.is_open():
        return ApplicationError(
            f"{reference} was unbatched from GL batch {original.batch_identifier}, which is "
            f"now {original.status}. Send it in a new batch from the Accounting Interface "
            "instead.",
            code="original_batch_not_open",
        )
    refusal = transferring(original, reference, "original_batch_not_open")
    if refusal is None and not kind.is_ready(record):
        refusal = not_ready(kind, record)
    return refusal


def not_ready(kind: PostableKind, record: Any) -> ApplicationError:
    return ApplicationError(
        f"{kind.not_ready_reason(record)} Then rebatch it.", code="record_not_ready"
    )


# --- the listings the pages and the API show ---------------------------------------------


def batch_refusals(
    batch: GLBatch, actor: AbstractBaseUser, counts: dict[str, int] | None = None
) -> dict[str, Refusal]:
    """Every step on a batch, with its refusal or None (`counts`: see rerecord_refusal)."""
    return {
        "close": close_refusal(batch),
        "delete": delete_refusal(batch),
        "reopen": reopen_refusal(batch, actor),
        "retry": retry_refusal(batch),
        "rerecord": rerecord_refusal(batch, counts),
    }


def record_refusals(kind: PostableKind, record: Any) -> dict[str, Refusal]:
    """Unbatch and rebatch of one record (with its batch and original batch loaded)."""
    return {
        "unbatch": unbatch_refusal(kind, record, getattr(record, kind.batch_field)),
        "rebatch": rebatch_refusal(kind, record, getattr(record, kind.original_batch_field)),
    }
