"""Records changed since they were sent (`selectors.sent_changes`): bringing the
accounting package in line with the record, the two ways a clerk can.

- A file transfer's package was changed by hand: `sent_change_confirm` records that the
  clerk updated the document there, so the transfer log holds the new values (the old
  ones stay in the audit event).
- A direct transfer's connector replaces the original: `sent_change_send` sends the
  record again through the re-send path (`record_resend`, shared with the books
  check's fix), which removes the original from the package before it writes the
  record as it is now.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounting import selectors
from accounting.audit import audit_record
from accounting.connectors import has_connector
from accounting.gl import AccountBook
from accounting.locks import lock_batch, lock_record
from accounting.models import BatchStatus, GLBatch, TransferLog, TransferMethod
from accounting.postables import get_kind
from accounting.selectors.changes import SentChange
from accounting.services.batch_creation import batch_create
from accounting.services.records import record_unbatch
from core.errors import ApplicationError, NotFound


def record_resend(
    *, actor: AbstractBaseUser, record_type: str, record_id: int, name: str
) -> GLBatch:
    """Send one record again in a batch of its own, with the re-send confirmed: the
    transfer removes the original from the package before it sends the record as it is
    now. A record in an open batch is unbatched from it first (audited)."""
    kind = get_kind(record_type)
    row = (
        kind.model._default_manager.filter(pk=record_id)
        .values_list(f"{kind.batch_field}_id", flat=True)
        .first()
    )
    if row is None and not kind.model._default_manager.filter(pk=record_id).exists():
        raise NotFound(f"There is no {kind.label.lower()} with id {record_id}.")
    if row is not None:
        batch = GLBatch.objects.get(pk=row)
        if batch.status != BatchStatus.OPEN:
            raise ApplicationError(
                f"{name} is in GL batch {batch.batch_identifier}, which is {batch.status}, "
                "so it cannot be sent again. An administrator can reopen the batch; then "
                "try again.",
                code="batch_not_open",
            )
        record_unbatch(actor=actor, record_type=kind.type, record_id=record_id)
    return batch_create(
        actor=actor,
        items=[{"type": kind.type, "id": record_id}],
        transfer=TransferMethod.DIRECT,
        confirm_resend=True,
    )


def _locked_change(record_type: str, record_id: int) -> tuple[SentChange, object]:
    """Lock the record's batch and the record (in the one order), then answer its
    change since sent; refused when there is none, or it is not in the batch that sent
    it."""
    kind = get_kind(record_type)
    batch_id = (
        kind.model._default_manager.filter(pk=record_id)
        .values_list(f"{kind.batch_field}_id", flat=True)
        .first()
    )
    if batch_id is not None:
        lock_batch(batch_id)
    record = lock_record(kind, record_id)
    reference = kind.reference(record)
    change = selectors.record_sent_change(kind.type, record_id)
    if change is None:
        raise ApplicationError(
            f"{reference} matches what was sent to the accounting package: there is nothing "
            "to update.",
            code="invalid_transition",
        )
    if not change.in_batch:
        raise ApplicationError(
            f"{reference} is no longer in GL batch {change.batch_identifier}, which sent it. "
            f"Rebatch it (MORE > Rebatch) to keep it in {change.batch_identifier}, or send it "
            "in a new batch from the Accounting Interface, which replaces the original.",
            code="invalid_transition",
        )
    return change, record


def _values_changed(change: SentChange) -> dict:
    """The audit event's changes: the document, and each value that differs, as the
    package held it (before) and as the record is now (after)."""
    changes: dict = {"document": change.number, "sent_in": change.batch_identifier}
    for row in change.rows:
        if row["changed"]:
            changes[row["label"]] = {"before": row["sent_text"], "after": row["now_text"]}
    if change.header_changed:
        changes["header"] = f"changed too (dated {change.date:%d %b %Y} now)"
    return changes


@transaction.atomic
def sent_change_confirm(
    *, actor: AbstractBaseUser, record_type: str, record_id: int
) -> TransferLog:
    """The clerk has changed the document in the accounting package by hand: the
    transfer log's row of the send now holds the record as it is (the package's
    values), and the audit event keeps the old ones. For a direct transfer the
    connector does it (`sent_change_send`), unless the package is no longer the setup's."""
    change, record = _locked_change(record_type, record_id)
    kind = get_kind(record_type)
    setup = selectors.accounting_setup()
    if change.is_direct and has_connector(setup.package) and setup.package == change.package:
        raise ApplicationError(
            f"{change.reference} was sent to {change.package_label} by direct transfer: use "
            "Update in the package, and the connector replaces the original.",
            code="invalid_transition",
        )
    log = TransferLog.objects.select_for_update().get(pk=change.log_id)
    posting = kind.posting(record, AccountBook())
    log.gl_lines = posting.lines_json()
    log.fingerprint = posting.fingerprint()
    log.save(update_fields=["gl_lines", "fingerprint"])
    audit_record(
        actor=actor,
        action="package_updated_by_hand",
        record_type=kind.type,
        record_id=record_id,
        batch=log.batch,
        changes=_values_changed(change),
    )
    return log


@transaction.atomic
def sent_change_send(*, actor: AbstractBaseUser, record_type: str, record_id: int) -> GLBatch:
    """Update in the package (a direct transfer): the record goes out again in a batch
    of its own, and the connector removes the original first, as on any re-send."""
    change, _record = _locked_change(record_type, record_id)
    setup = selectors.accounting_setup()
    if not change.is_direct:
        raise ApplicationError(
            f"{change.reference} went to the package in an export file, so the product "
            "cannot change it there. Change it in the package by hand, then mark it "
            "updated.",
            code="invalid_transition",
        )
    if setup.package != change.package or not has_connector(setup.package):
        raise ApplicationError(
            f"{change.reference} was sent to {change.package_label}, and the setup's "
            f"package is now {setup.get_package_display()}: change it in "
            f"{change.package_label} by hand, "
            "then mark it updated.",
            code="invalid_transition",
        )
    batch = record_resend(
        actor=actor, record_type=record_type, record_id=record_id, name=change.reference
    )
    audit_record(
        actor=actor,
        action="package_update_sent",
        record_type=record_type,
        record_id=record_id,
        batch=batch,
        changes={**_values_changed(change), "batch": batch.batch_identifier},
    )
    return batch
