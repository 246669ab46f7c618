"""One record's steps: unbatch it from its open GL batch to edit it, rebatch it into
its original batch (nothing sent)."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounting.audit import audit_record
from accounting.locks import lock_batch, lock_record
from accounting.postables import PostableKind, get_kind, kinds
from accounting.services.common import attach
from accounting.steps import not_ready, rebatch_refusal, refuse, unbatch_refusal
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
        refuse(unbatch_refusal(kind, lock_record(kind, record_id), None))
    assert batch_id is not None, "a record in no batch is refused above"
    batch = lock_batch(batch_id)
    record = lock_record(kind, record_id)
    if getattr(record, f"{kind.batch_field}_id") != batch.pk:
        raise ApplicationError(
            f"{kind.reference(record)} changed batch while you were working; reload it and "
            "try again.",
            code="invalid_transition",
        )
    refuse(unbatch_refusal(kind, record, batch))
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
    if batch_id is not None or original_id is None:
        record = lock_record(kind, record_id)
        refuse(rebatch_refusal(kind, record, None))
    assert original_id is not None, "a record with no original batch is refused above"
    batch = lock_batch(original_id)
    record = lock_record(kind, record_id)
    if getattr(record, f"{kind.original_batch_field}_id") != batch.pk or getattr(
        record, f"{kind.batch_field}_id"
    ):
        raise ApplicationError(
            f"{kind.reference(record)} changed while you were working; reload it and try again.",
            code="invalid_transition",
        )
    refuse(rebatch_refusal(kind, record, batch))
    # Attached only if ready; when it is not, nothing changed and the step is refused.
    if not attach(
        kind, kind.model._default_manager.filter(kind.ready_filter(), pk=record.pk), batch
    ):
        raise not_ready(kind, record)
    audit_record(
        actor=actor,
        action="rebatched",
        record_type=kind.type,
        record_id=record.pk,
        batch=batch,
        changes={"gl_batch": {"before": None, "after": batch.batch_identifier}, "sent": False},
    )
    return _current(kind, record_id)


@transaction.atomic
def batch_records_step(
    *, actor: AbstractBaseUser, batch_id: int, step: str, items: list[dict[str, Any]]
) -> tuple[list[tuple[PostableKind, Any]], list[ApplicationError]]:
    """Unbatch from, or rebatch into, one batch many ticked records at once: each
    record goes through its own step (`record_unbatch` or `record_rebatch`, with its
    refusal and its audit event), in one transaction, each in a savepoint of its own,
    so that a refused record changes nothing and the others are done together. A
    record that is not in the batch (to unbatch) or was not unbatched from it (to
    rebatch) is refused. Answers what was done, and one refusal per record refused."""
    if step not in ("unbatch", "rebatch"):
        raise ApplicationError(f"There is no step called {step}.", code="validation_error")
    run = record_unbatch if step == "unbatch" else record_rebatch
    done: list[tuple[PostableKind, Any]] = []
    refused: list[ApplicationError] = []
    order = {kind.type: kind.lock_order for kind in kinds()}
    # In the one lock order (kind, then id), as every step that locks many records does.
    for item in sorted(items, key=lambda item: (order.get(item["type"], 0), item["id"])):
        try:
            with transaction.atomic():
                kind = get_kind(item["type"])
                in_batch, original = _peek(kind, item["id"])
                belongs = in_batch == batch_id if step == "unbatch" else original == batch_id
                if not belongs:
                    record = _current(kind, item["id"])
                    reference = kind.reference(record)
                    raise ApplicationError(
                        (
                            f"{reference} is not in this batch"
                            if step == "unbatch"
                            else f"{reference} was not unbatched from this batch"
                        )
                        + "; reload the batch page and tick its records again.",
                        code="invalid_transition",
                        extra={
                            "items": [{"type": kind.type, "id": record.pk, "reference": reference}]
                        },
                    )
                done.append((kind, run(actor=actor, record_type=kind.type, record_id=item["id"])))
        except ApplicationError as error:
            refused.append(error)
    return done, refused
