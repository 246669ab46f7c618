"""The accounting workflows: one function per action, atomic, locked, audited.

Every function takes the acting user and keyword-only arguments, refuses a step with
an `ApplicationError` (a stable code from the API contract, a sentence naming the
record and the way out) and then changes nothing. Locks are taken through
`accounting.locks`, in its one order.
"""

import logging
import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from accounting import selectors
from accounting.audit import audit_batch, audit_batch_records, audit_record
from accounting.connectors import get_connector
from accounting.exporters import get_exporter
from accounting.locks import lock_batch, lock_record, lock_rows
from accounting.models import (
    AccountingSetup,
    BatchStatus,
    GLBatch,
    TransferLog,
    TransferMethod,
    TransferState,
)
from accounting.postables import (
    PostableKind,
    batched_rows,
    get_kind,
    kinds,
    record_refs,
    unposted_rows,
)
from psa.counters import counter_next
from psa.errors import ApplicationError, InvalidInput, NotFound

BATCH_IDENTIFIER_MAX = 50
logger = logging.getLogger(__name__)


# --- batch creation ------------------------------------------------------------------


def _clean_identifier(batch_identifier: str | None) -> str | None:
    if batch_identifier is None:
        return None
    identifier = batch_identifier.strip()
    if not identifier:
        return None
    if len(identifier) > BATCH_IDENTIFIER_MAX:
        raise InvalidInput(
            f"A batch ID has at most {BATCH_IDENTIFIER_MAX} characters.",
            fields={"batch_identifier": [f"At most {BATCH_IDENTIFIER_MAX} characters."]},
        )
    # Line breaks, tabs and other control or invisible characters: refused, as nobody can
    # type them again to find or re-record the batch (a / or \ is fine: files are named
    # by the product, and downloads are offered under a cleaned name).
    if not identifier.isprintable():
        raise InvalidInput(
            "A batch ID cannot contain line breaks, tabs or other control characters.",
            fields={
                "batch_identifier": [
                    "No line breaks, tabs or other control characters: letters, digits, "
                    "punctuation and spaces only."
                ]
            },
        )
    return identifier


def _refuse_identifier_in_use(identifier: str) -> None:
    if selectors.batch_holding(identifier) is not None:
        raise ApplicationError(
            f"Batch ID {identifier} is already used by an open or closed batch. Type another "
            "batch ID, or leave it empty to have one generated.",
            code="batch_identifier_in_use",
        )


def _new_identifier() -> str:
    while True:
        identifier = f"GL-{counter_next(name='gl_batch', start=0):05d}"
        if not GLBatch.objects.filter(batch_identifier=identifier).exists():
            return identifier


def _transfer_method(setup: AccountingSetup, transfer: str | None) -> str:
    if transfer is None:
        transfer = TransferMethod.DIRECT if setup.direct_transfer else TransferMethod.FILE
    if transfer not in TransferMethod.values:
        raise InvalidInput(
            f"Transfer must be one of {', '.join(TransferMethod.values)}.",
            fields={"transfer": ["Choose direct or file."]},
        )
    if transfer == TransferMethod.DIRECT and get_connector(setup.package, setup.options) is None:
        raise InvalidInput(
            f"{setup.get_package_display()} has no direct transfer; choose file, or set up a "
            "package that has one.",
            fields={"transfer": ["Direct transfer is not available for this package."]},
        )
    return transfer


def _insert_batch(
    *, actor, identifier: str, method: str, setup: AccountingSetup, is_rerecord: bool = False
) -> GLBatch:
    try:
        with transaction.atomic():
            return GLBatch.objects.create(
                batch_identifier=identifier,
                transfer_method=method,
                export_format=setup.export_format,
                package=setup.package,
                created_by=actor,
                is_rerecord=is_rerecord,
                transfer_state=TransferState.QUEUED,
                transfer_queued_at=timezone.now(),
            )
    except IntegrityError:
        # Another batch took the identifier between our check and our insert.
        _refuse_identifier_in_use(identifier)
        raise


def _group_items(items: Iterable[dict[str, Any]]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        try:
            record_type, record_id = item["type"], int(item["id"])
        except (KeyError, TypeError, ValueError):
            raise InvalidInput(
                "Each item needs a type and an id.",
                fields={"items": [f"Item {index + 1} needs a type and a numeric id."]},
            ) from None
        get_kind(record_type)
        grouped.setdefault(record_type, []).append(record_id)
    return grouped


def _lock_chosen(kind: PostableKind, ids: list[int]) -> list[int]:
    """Lock chosen records; refuse missing, batched or unfinished ones."""
    locked = lock_rows(kind.model.objects.filter(pk__in=ids))
    missing = sorted(set(ids) - set(locked))
    if missing:
        raise NotFound(f"There is no {kind.label.lower()} with id {', '.join(map(str, missing))}.")
    batch_column = f"{kind.batch_field}_id"
    batched = kind.queryset().filter(pk__in=ids, **{f"{batch_column}__isnull": False})
    if batched.exists():
        items = [ref.as_item() for ref in record_refs(kind, batched.order_by("pk"))]
        raise ApplicationError(
            f"{items[0]['reference']} is already in a GL batch"
            + (f" (and {len(items) - 1} more of the chosen records)" if len(items) > 1 else "")
            + ". Refresh the unposted list and choose again.",
            code="already_batched",
            extra={"items": items},
        )
    not_ready = kind.queryset().filter(pk__in=ids).exclude(kind.ready_filter())
    first = not_ready.order_by("pk").first()
    if first is not None:
        raise ApplicationError(
            f"{kind.not_ready_reason(first)} Only finished records can be batched.",
            code="record_not_ready",
            extra={"items": [ref.as_item() for ref in record_refs(kind, not_ready.order_by("pk"))]},
        )
    return locked


def _attach(kind: PostableKind, rows: models.QuerySet, batch: GLBatch) -> int:
    return rows.update(**{kind.batch_field: batch, kind.original_batch_field: None})


def _refuse_unconfirmed_resend(batch: GLBatch, *, actor, confirm_resend: bool) -> None:
    """Records sent before go out again only once the user confirms the originals are
    removed; the refusal lists the originals to remove (batch, date, reference)."""
    live = selectors.live_sends_in_batch(batch)
    if not live:
        return
    if not confirm_resend:
        items = [
            {
                "type": record_type,
                "id": record_id,
                "reference": sends[0]["reference"],
                "previously_sent": [
                    {"batch_identifier": s["batch_identifier"], "sent_at": s["sent_at"]}
                    for s in sends
                ],
            }
            for (record_type, record_id), sends in sorted(live.items())
        ]
        first = items[0]
        earlier = first["previously_sent"][0]
        raise ApplicationError(
            f"{first['reference']} was already sent in GL batch {earlier['batch_identifier']} "
            f"on {earlier['sent_at']:%d %b %Y}"
            + (
                f", and {len(items) - 1} more chosen records were sent before"
                if len(items) > 1
                else ""
            )
            + (
                ". Confirm the re-send: direct transfer removes the originals from the "
                "accounting package first."
                if batch.transfer_method == TransferMethod.DIRECT
                else ". Remove the originals from the accounting package, then confirm the "
                "re-send; otherwise the package holds them twice."
            ),
            code="retransfer_unconfirmed",
            extra={"items": items},
        )
    # A connector removes the originals itself during the transfer; for a file, the
    # user's confirmation is the removal, and the batch keeps the checklist.
    if batch.transfer_method == TransferMethod.FILE:
        log_ids = [s["log_id"] for sends in live.values() for s in sends]
        TransferLog.objects.filter(pk__in=log_ids).update(
            removed_at=timezone.now(), removed_by=actor, removal="confirmed", replaced_by=batch
        )


@transaction.atomic
def batch_create(
    *,
    actor: AbstractBaseUser,
    items: list[dict[str, Any]] | None = None,
    all_unposted: bool = False,
    types: list[str] | None = None,
    thru_date: date | None = None,
    batch_identifier: str | None = None,
    transfer: str | None = None,
    confirm_resend: bool = False,
) -> GLBatch:
    """Batch chosen records (or every unposted one, by kind and through a date), lock
    them, and queue the transfer once the batch is committed."""
    if bool(items) == bool(all_unposted):
        raise InvalidInput(
            "Choose the records to batch, or ask for all unposted records.",
            fields={"items": ["Give items, or set all_unposted, not both."]},
        )
    identifier = _clean_identifier(batch_identifier)
    setup = selectors.accounting_setup()
    method = _transfer_method(setup, transfer)
    if identifier:
        _refuse_identifier_in_use(identifier)
    else:
        identifier = _new_identifier()
    batch = _insert_batch(actor=actor, identifier=identifier, method=method, setup=setup)
    event = audit_batch(actor=actor, action="batch_created", batch=batch)

    chosen = _group_items(items) if items else {}
    wanted_types = [get_kind(t).type for t in types] if types else None
    counts: dict[str, int] = {}
    for kind in kinds():
        if items:
            if kind.type not in chosen:
                continue
            ids = _lock_chosen(kind, chosen[kind.type])
            rows = kind.model.objects.filter(pk__in=ids)
        else:
            if wanted_types is not None and kind.type not in wanted_types:
                continue
            # One UPDATE: rows another batch takes meanwhile drop out of its WHERE.
            rows = unposted_rows(kind, thru_date).order_by()
        counts[kind.type] = _attach(kind, rows, batch)
        if counts[kind.type]:
            audit_batch_records(event, kind, batch.pk)
    if method == TransferMethod.FILE:
        _refuse_what_the_format_cannot_carry(setup, counts)
    if not any(counts.values()):
        raise InvalidInput(
            "There are no unposted records to batch"
            + (f" dated on or before {thru_date:%d %b %Y}" if thru_date else "")
            + ".",
            fields={"items": ["Nothing to batch."]},
        )
    _refuse_unconfirmed_resend(batch, actor=actor, confirm_resend=confirm_resend)
    event.changes = {
        "counts": counts,
        "transfer": method,
        "confirm_resend": bool(confirm_resend),
    }
    event.save(update_fields=["changes"])
    _queue_transfer(batch)
    return batch


def _refuse_what_the_format_cannot_carry(setup: AccountingSetup, counts: dict[str, int]) -> None:
    refusal = get_exporter(setup.export_format).batch_refusal(counts, setup.options)
    if refusal:
        raise InvalidInput(
            f"These records cannot go in one {setup.get_export_format_display()} file. " + refusal,
            fields={"items": [refusal]},
        )


def _queue_transfer(batch: GLBatch) -> None:
    """Hand the transfer to the queue once the batch is committed. A broker that cannot
    be reached does not undo the step: the batch stays queued (its queued time left
    empty, which the page shows), and the transfer sweep hands it over later."""
    from accounting import tasks

    batch_id = batch.pk

    def hand_over() -> None:
        if not tasks.queue_batch_transfer(batch_id):
            GLBatch.objects.filter(pk=batch_id, transfer_state=TransferState.QUEUED).update(
                transfer_queued_at=None
            )
            batch.transfer_queued_at = None

    transaction.on_commit(hand_over)


# --- one record: unbatch, rebatch --------------------------------------------------


def _peek(kind: PostableKind, record_id: int) -> tuple[int | None, int | None]:
    """The record's batch and original batch, read before taking locks in order."""
    row = (
        kind.model.objects.filter(pk=record_id)
        .order_by()
        .values_list(f"{kind.batch_field}_id", f"{kind.original_batch_field}_id")
    )
    if not row:
        raise NotFound(f"There is no {kind.label.lower()} with id {record_id}.")
    return row[0]


def _current(kind: PostableKind, record_id: int) -> Any:
    """The record as the step left it, with what its adapter reads."""
    return kind.queryset().get(pk=record_id)


def _refuse_while_transferring(batch: GLBatch, reference: str, code: str) -> None:
    """Refuse while a live process sends the batch; an interrupted transfer (its lease
    expired) locks nothing."""
    if batch.is_transferring():
        raise ApplicationError(
            f"GL batch {batch.batch_identifier} is being transferred right now, so "
            f"{reference} cannot leave or join it. Wait until the transfer is done.",
            code=code,
        )


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
    _refuse_while_transferring(batch, reference, "batch_not_open")
    type(record).objects.filter(pk=record.pk).update(
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
    _refuse_while_transferring(batch, reference, "original_batch_not_open")
    # Attached only if ready; when it is not, nothing changed and the step is refused.
    if not _attach(kind, kind.model.objects.filter(kind.ready_filter(), pk=record.pk), batch):
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


# --- whole batches: delete, close, reopen, retry -------------------------------------


def _refuse_unbatched_items(batch: GLBatch, doing: str) -> None:
    outside = selectors.batch_unbatched_refs(batch)
    if not outside:
        return
    names = ", ".join(ref.reference for ref in outside[:5])
    more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
    raise ApplicationError(
        f"GL batch {batch.batch_identifier} cannot be {doing}: {names}{more} "
        f"{'was' if len(outside) == 1 else 'were'} unbatched from it and "
        f"{'is' if len(outside) == 1 else 'are'} still outside it. Rebatch "
        f"{'it' if len(outside) == 1 else 'them'} first (MORE > Rebatch).",
        code="batch_has_unbatched_items",
        extra={"items": [ref.as_item() for ref in outside]},
    )


def _refuse_unless_open(batch: GLBatch, doing: str) -> None:
    if batch.status == BatchStatus.DELETED:
        raise ApplicationError(
            f"GL batch {batch.batch_identifier} was deleted already.", code="batch_not_open"
        )
    if batch.status == BatchStatus.CLOSED:
        raise ApplicationError(
            f"GL batch {batch.batch_identifier} is closed and cannot be {doing}. An "
            "administrator can reopen it.",
            code="batch_not_open",
        )


@transaction.atomic
def batch_delete(*, actor: AbstractBaseUser, batch_id: int) -> GLBatch:
    """Every record of the batch becomes unposted again; the batch keeps its history and
    frees its identifier. Unposted records that were never in it are not touched."""
    batch = lock_batch(batch_id)
    _refuse_unless_open(batch, "deleted")
    _refuse_while_transferring(batch, "its records", "batch_not_open")
    _refuse_unbatched_items(batch, "deleted")
    event = audit_batch(actor=actor, action="batch_deleted", batch=batch)
    counts = {}
    for kind in kinds():
        # The links keep which records the batch let go (for the split of what changed).
        audit_batch_records(event, kind, batch.pk)
        counts[kind.type] = batched_rows(kind, batch.pk).update(**{kind.batch_field: None})
    batch.status = BatchStatus.DELETED
    batch.deleted_at = timezone.now()
    batch.deleted_by = actor
    batch.save(update_fields=["status", "deleted_at", "deleted_by"])
    event.changes = {"counts": counts}
    event.save(update_fields=["changes"])
    return batch


@transaction.atomic
def batch_close(*, actor: AbstractBaseUser, batch_id: int) -> GLBatch:
    batch = lock_batch(batch_id)
    _refuse_unless_open(batch, "closed")
    if batch.transfer_state != TransferState.DONE:
        raise ApplicationError(
            f"GL batch {batch.batch_identifier} has not been transferred (its transfer is "
            f"{batch.transfer_state}). Wait for the transfer, or retry it, before closing.",
            code="invalid_transition",
        )
    _refuse_unbatched_items(batch, "closed")
    batch.status = BatchStatus.CLOSED
    batch.closed_at = timezone.now()
    batch.closed_by = actor
    batch.save(update_fields=["status", "closed_at", "closed_by"])
    audit_batch(actor=actor, action="batch_closed", batch=batch)
    return batch


@transaction.atomic
def batch_reopen(*, actor: AbstractBaseUser, batch_id: int) -> GLBatch:
    """An administrator's way back from closing a batch by mistake."""
    if not actor.has_perm("accounting.reopen_glbatch"):
        raise ApplicationError(
            "Only an administrator can reopen a closed GL batch.",
            code="permission_denied",
            status_code=403,
        )
    batch = lock_batch(batch_id)
    if batch.status != BatchStatus.CLOSED:
        raise ApplicationError(
            f"GL batch {batch.batch_identifier} is {batch.status}; only a closed batch can be "
            "reopened.",
            code="invalid_transition",
        )
    batch.status = BatchStatus.OPEN
    batch.closed_at = None
    batch.closed_by = None
    batch.save(update_fields=["status", "closed_at", "closed_by"])
    audit_batch(actor=actor, action="batch_reopened", batch=batch)
    return batch


@transaction.atomic
def batch_retry(*, actor: AbstractBaseUser, batch_id: int) -> GLBatch:
    """Queue a failed or interrupted transfer again (an interrupted one is a running
    transfer whose lease expired: its process is gone)."""
    batch = lock_batch(batch_id)
    state = batch.current_transfer_state
    retryable = (TransferState.FAILED, TransferState.INTERRUPTED)
    if state not in retryable or batch.status == BatchStatus.DELETED:
        raise ApplicationError(
            f"GL batch {batch.batch_identifier}'s transfer is {state}; only a failed or "
            "interrupted transfer can be retried.",
            code="invalid_transition",
        )
    _requeue(batch, actor=actor, action="transfer_retried", changes={"state": state})
    return batch


def _requeue(batch: GLBatch, *, actor, action: str, changes: dict[str, Any]) -> None:
    """Queue a locked batch's transfer again; a person's retry starts the sweep's count
    of automatic retries afresh."""
    if batch.transfer_error:
        changes = {**changes, "error": batch.transfer_error}
    batch.transfer_state = TransferState.QUEUED
    batch.transfer_progress = 0
    batch.transfer_queued_at = timezone.now()
    batch.transfer_lease_until = None
    fields = ["transfer_state", "transfer_progress", "transfer_queued_at", "transfer_lease_until"]
    if actor is not None:
        batch.transfer_attempts = 0
        fields.append("transfer_attempts")
    batch.save(update_fields=fields)
    audit_batch(actor=actor, action=action, batch=batch, changes=changes)
    _queue_transfer(batch)


# --- after a delete: re-record what is already in the package ------------------------


@transaction.atomic
def batch_rerecord(
    *, actor: AbstractBaseUser, batch_id: int, items: list[dict[str, Any]] | None = None
) -> GLBatch:
    """Re-record the unchanged former records of a deleted batch under its original
    identifier as a file-only batch: they are in the accounting package already, so
    nothing is sent; the file is for reference, not for import."""
    deleted = lock_batch(batch_id)
    if deleted.status != BatchStatus.DELETED:
        raise ApplicationError(
            f"GL batch {deleted.batch_identifier} is {deleted.status}; only the records of a "
            "deleted batch can be re-recorded.",
            code="invalid_transition",
        )
    split = selectors.deleted_batch_changes(deleted)
    unchanged = {(i["type"], i["id"]) for i in selectors.rerecordable(split)}
    wanted = {(i["type"], int(i["id"])) for i in items} if items else unchanged
    refused = wanted - unchanged
    if refused:
        by_key = {(i["type"], i["id"]): i for group in split.values() for i in group}
        refs = [
            by_key.get(key, {"type": key[0], "id": key[1], "reference": f"{key[0]} {key[1]}"})
            for key in sorted(refused)
        ]
        raise ApplicationError(
            f"{refs[0]['reference']} cannot be re-recorded: it changed since it was sent, "
            "was never sent, or is in another batch now. Send it in a new batch instead.",
            code="invalid_transition",
            extra={
                "items": [
                    {"type": r["type"], "id": r["id"], "reference": r["reference"]} for r in refs
                ]
            },
        )
    if not wanted:
        raise InvalidInput(
            f"No unchanged record of GL batch {deleted.batch_identifier} is left to re-record.",
            fields={"items": ["Nothing to re-record."]},
        )
    _refuse_identifier_in_use(deleted.batch_identifier)
    setup = selectors.accounting_setup()
    batch = _insert_batch(
        actor=actor,
        identifier=deleted.batch_identifier,
        method=TransferMethod.FILE,
        setup=setup,
        is_rerecord=True,
    )
    event = audit_batch(
        actor=actor,
        action="batch_rerecorded",
        batch=batch,
        changes={"from_batch": deleted.pk, "records": len(wanted)},
    )
    grouped: dict[str, list[int]] = {}
    for record_type, record_id in wanted:
        grouped.setdefault(record_type, []).append(record_id)
    for kind in kinds():
        if kind.type in grouped:
            ids = _lock_chosen(kind, grouped[kind.type])
            _attach(kind, kind.model.objects.filter(pk__in=ids), batch)
            audit_batch_records(event, kind, batch.pk)
    _queue_transfer(batch)
    return batch


# --- the transfer ------------------------------------------------------------------

UNEXPECTED_ERROR = (
    "The transfer stopped on an unexpected error (reference {reference}); the details are "
    "in the server log. Retry it, or ask your administrator."
)


def transfer_error_text(error: Exception, reference: str) -> str:
    """What a user reads of a failed transfer. An ApplicationError's message is written
    for them; anything else (an OSError naming a server path, a parser quoting a file)
    stays in the server log, under the reference the sentence gives."""
    if isinstance(error, ApplicationError):
        return error.message[:2000]
    return UNEXPECTED_ERROR.format(reference=reference)


def batch_transfer_run(*, batch_id: int) -> GLBatch:
    """Send a batch: write its export file or push it through the connector, and log
    each record sent. Safe to run twice or side by side: a finished batch is left
    alone, a duplicate waits out the first, and a record already logged (or already in
    the ledger) for this batch is not sent again. A failure is kept on the batch for
    the user to read and retry; it is not raised.

    The run holds a lease on the batch (`accounting.transfer.Lease`), renewed while it
    works; a run whose process dies stops renewing it, and the batch becomes
    interrupted once it expires. Only a queued or interrupted transfer (or a running one
    whose lease expired or was never taken) is started, and only the lease's holder
    marks the batch done or failed."""
    from accounting.transfer import Lease, run_transfer, transfer_lock

    with transfer_lock(batch_id) as acquired:
        if not acquired:
            return GLBatch.objects.get(pk=batch_id)
        lease = Lease(batch_id)
        with transaction.atomic():
            batch = lock_batch(batch_id)
            startable = batch.transfer_state in (TransferState.QUEUED, TransferState.INTERRUPTED)
            taken_over = batch.transfer_state == TransferState.RUNNING and (
                batch.transfer_lease_until is None or batch.lease_expired()
            )
            if batch.status == BatchStatus.DELETED or not (startable or taken_over):
                return batch
            batch.transfer_state = TransferState.RUNNING
            batch.transfer_started_at = timezone.now()
            batch.transfer_finished_at = None
            batch.transfer_progress = 0
            batch.transfer_error = ""
            batch.transfer_lease_holder = lease.holder
            batch.transfer_lease_until = lease.until()
            batch.transfer_attempts = min(batch.transfer_attempts + 1, 32767)
            batch.save(
                update_fields=[
                    "transfer_state",
                    "transfer_started_at",
                    "transfer_finished_at",
                    "transfer_progress",
                    "transfer_error",
                    "transfer_lease_holder",
                    "transfer_lease_until",
                    "transfer_attempts",
                ]
            )
        try:
            with lease:
                run_transfer(batch, progress=lease.progress)
        except Exception as error:
            return _record_failure(batch_id, lease.holder, error)
        with transaction.atomic():
            batch = lock_batch(batch_id)
            if not _holds_lease(batch, lease.holder):
                return batch
            batch.transfer_state = TransferState.DONE
            batch.transfer_progress = 100
            batch.transfer_finished_at = timezone.now()
            batch.transfer_lease_until = None
            batch.save(
                update_fields=[
                    "transfer_state",
                    "transfer_progress",
                    "transfer_finished_at",
                    "transfer_lease_until",
                ]
            )
            audit_batch(
                actor=None,
                action="transfer_done",
                batch=batch,
                changes={"method": batch.transfer_method},
            )
        return batch


def _holds_lease(batch: GLBatch, holder: str) -> bool:
    """Whether this run still holds the (locked) batch's lease: one that lost it (it
    expired and another run or a person took the batch over) records nothing."""
    if batch.transfer_state == TransferState.RUNNING and batch.transfer_lease_holder == holder:
        return True
    logger.warning(
        "Transfer of GL batch %s lost its lease (now %s, held by %s); its outcome is not recorded",
        batch.batch_identifier,
        batch.transfer_state,
        batch.transfer_lease_holder or "nobody",
    )
    return False


def _record_failure(batch_id: int, holder: str, error: Exception) -> GLBatch:
    """Keep a failed run's reason on the batch (in the product's words) and the detail in
    the server log, under one reference. A run that lost its database connection
    records the failure on a new one; if even that fails, the error is raised and the
    batch becomes interrupted once its lease expires."""
    reference = uuid.uuid4().hex[:8]
    logger.error(
        "Transfer of GL batch id %s failed (reference %s)",
        batch_id,
        reference,
        exc_info=(type(error), error, error.__traceback__),
    )
    message = transfer_error_text(error, reference)
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                batch = lock_batch(batch_id)
                if not _holds_lease(batch, holder):
                    return batch
                batch.transfer_state = TransferState.FAILED
                batch.transfer_error = message
                batch.transfer_finished_at = timezone.now()
                batch.transfer_lease_until = None
                batch.save(
                    update_fields=[
                        "transfer_state",
                        "transfer_error",
                        "transfer_finished_at",
                        "transfer_lease_until",
                    ]
                )
                audit_batch(
                    actor=None,
                    action="transfer_failed",
                    batch=batch,
                    changes={"error": message, "reference": reference},
                )
            return batch
        except DatabaseError:
            if attempt == 2 or connection.in_atomic_block:
                raise
            connection.close()  # a dropped connection: the next statement opens a new one
    raise AssertionError("unreachable")


# --- the transfer sweep (periodic) -----------------------------------------------------


def transfer_sweep() -> dict[str, int]:
    """Run every few minutes by the beat, so that no transfer stays stuck:

    - a running transfer whose lease expired is marked interrupted (its process died:
      killed, or cut off from the database);
    - an interrupted transfer of an open batch is queued again, up to
      TRANSFER_AUTO_RETRIES automatic runs; after that it waits for Finance's Retry;
    - a batch queued TRANSFER_REQUEUE_AFTER_SECONDS ago and still not started (a lost
      message), or never handed to the queue (the broker was down), is handed over
      again.

    Each batch is taken under its lock and checked again, so two sweeps, or a sweep and
    a person's retry, do not queue it twice; a duplicate message would find the batch's
    transfer lock taken or the batch done anyway."""
    now = timezone.now()
    counts = {"interrupted": 0, "requeued": 0, "handed_over": 0}
    for batch_id in GLBatch.objects.filter(
        transfer_state=TransferState.RUNNING, transfer_lease_until__lt=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            batch = lock_batch(batch_id)
            if batch.lease_expired():
                batch.transfer_state = TransferState.INTERRUPTED
                batch.save(update_fields=["transfer_state"])
                audit_batch(
                    actor=None,
                    action="transfer_interrupted",
                    batch=batch,
                    changes={
                        "holder": batch.transfer_lease_holder,
                        "lease_until": batch.transfer_lease_until.isoformat(),
                        "progress": batch.transfer_progress,
                    },
                )
                counts["interrupted"] += 1
    for batch_id in GLBatch.objects.filter(
        transfer_state=TransferState.INTERRUPTED,
        status=BatchStatus.OPEN,
        transfer_attempts__lte=settings.TRANSFER_AUTO_RETRIES,
    ).values_list("pk", flat=True):
        with transaction.atomic():
            batch = lock_batch(batch_id)
            if batch.transfer_state == TransferState.INTERRUPTED and batch.is_open():
                _requeue(
                    batch,
                    actor=None,
                    action="transfer_requeued",
                    changes={"state": "interrupted", "attempts": batch.transfer_attempts},
                )
                counts["requeued"] += 1
    stale = now - timedelta(seconds=settings.TRANSFER_REQUEUE_AFTER_SECONDS)
    for batch_id in (
        GLBatch.objects.filter(
            Q(transfer_queued_at__isnull=True) | Q(transfer_queued_at__lt=stale),
            transfer_state=TransferState.QUEUED,
        )
        .exclude(status=BatchStatus.DELETED)
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            batch = lock_batch(batch_id)
            queued_at = batch.transfer_queued_at
            if batch.transfer_state == TransferState.QUEUED and (
                queued_at is None or queued_at < stale
            ):
                batch.transfer_queued_at = timezone.now()
                batch.save(update_fields=["transfer_queued_at"])
                _queue_transfer(batch)
                counts["handed_over"] += 1
    if any(counts.values()):
        logger.info("Transfer sweep: %s", counts)
    return counts
