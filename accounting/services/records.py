"""One record's steps: unbatch it from its open GL batch to edit it, rebatch it into
its original batch (nothing sent)."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounting.audit import audit_record
from accounting.locks import lock_batch, lock_record
from accounting.postables import PostableKind, get_kind
from accounting.services.common import attach, refuse_while_transferring
from core.errors import ApplicationError, NotFound


def _peek(kind: PostableKind, record_id: int) -> tuple[int | None, int | None]:
    """The record's batch and original batch, read before taking locks in order."""
    row = (
        kind.model._default_manager.filter(pk=record_id)
        .order_by()
        .values_list(f"{kind.batch_field}_id", f"{kind.original_batch_field}_id")
    )
    if not row:
        raise NotFound(f"There is no {kind.label.lower()} with id {record_id}.")
    return row[0]


def _current(kind: PostableKind, record_id: int) -> Any:
    """The record as the step left it, with what its adapter reads."""
    return kind.queryset().get(pk=record_id)


@transaction.atomic
def record_unbatch(*, actor: AbstractBaseUser, record_type: str, record_id: int) -> Any:
    """Take one record out of its open batch so it can be edited; it remembers the
    batch as its original batch."""
    kind = get_kind(record_type)
    batch_id, _original_id = _peek(kind, record_id)
    if batch_id is None:
        record = lock_record(kind, record_id)
        raise ApplicationError(
            f"{kind.reference(record)} is not in a GL batch; there is nothing to unbatch.",
            code="not_batched",
        )
    batch = lock_batch(batch_id)
    record = lock_record(kind, record_id)
    if getattr(record, f"{kind.batch_field}_id") != batch.pk:
        raise ApplicationError(
            f"{kind.reference(record)} changed batch while you were working; reload it and "
            "try again.",
            code="invalid_transition",
        )
    reference = kind.reference(record)
    if not batch.is_open():
        raise ApplicationError(
            f"{reference} is in GL batch {batch.batch_identifier}, which is {batch.status}; "
            "records of a closed batch cannot be unbatched. An administrator can reopen the "
            "batch.",
            code="batch_not_open",
        )
    refuse_while_transferring(batch, reference, "batch_not_open")
    kind.model._default_manager.filter(pk=record.pk).update(
        **{kind.batch_field: None, kind.original_batch_field: batch}
    )
    audit_record(
        actor=actor,
        action="unbatched",
        record_type=kind.type,
        record_id=record.pk,
        batch=batch,
        changes={"gl_batch": {"before": batch.batch_identifier, "after": None}},
    )
    return _current(kind, record_id)


@transaction.atomic
def record_rebatch(*, actor: AbstractBaseUser, record_type: str, record_id: int) -> Any:
    """Put an unbatched record back into its original batch. Nothing is sent."""
    kind = get_kind(record_type)
    batch_id, original_id = _peek(kind, record_id)
    if batch_id is not None:
        record = lock_record(kind, record_id)
        raise ApplicationError(
            f"{kind.reference(record)} is already in a GL batch; unbatch it first if it "
            "needs changing.",
            code="already_batched",
        )
    if original_id is None:
        record = lock_record(kind, record_id)
        raise ApplicationError(
            f"{kind.reference(record)} was never unbatched, so it has no original batch to go "
            "back to. Send it in a new batch from the Accounting Interface.",
            code="no_original_batch",
        )
    batch = lock_batch(original_id)
    record = lock_record(kind, record_id)
    reference = kind.reference(record)
    if getattr(record, f"{kind.original_batch_field}_id") != batch.pk or getattr(
        record, f"{kind.batch_field}_id"
    ):
        raise ApplicationError(
            f"{reference} changed while you were working; reload it and try again.",
            code="invalid_transition",
        )
    if not batch.is_open():
        raise ApplicationError(
            f"{reference} was unbatched from GL batch {batch.batch_identifier}, which is now "
            f"{batch.status}. Send it in a new batch from the Accounting Interface instead.",
            code="original_batch_not_open",
        )
    refuse_while_transferring(batch, reference, "original_batch_not_open")
    # Attached only if ready; when it is not, nothing changed and the step is refused.
    if not attach(
        kind, kind.model._default_manager.filter(kind.ready_filter(), pk=record.pk), batch
    ):
        raise ApplicationError(
            f"{kind.not_ready_reason(record)} Then rebatch it.", code="record_not_ready"
        )
    audit_record(
        actor=actor,
        action="rebatched",
        record_type=kind.type,
        record_id=record.pk,
        batch=batch,
        changes={"gl_batch": {"before": None, "after": batch.batch_identifier}, "sent": False},
    )
    return _current(kind, record_id)
