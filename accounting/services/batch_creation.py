"""Creating GL batches: from chosen or all unposted records, and after a delete, by
re-recording the unchanged records of the deleted batch (nothing sent). Each queues
its transfer (`accounting.tasks.queue_transfer`)."""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounting import selectors, tasks, transfer
from accounting.audit import audit_batch, audit_batch_records
from accounting.connectors import get_connector
from accounting.exporters import get_exporter
from accounting.locks import lock_batch, lock_rows
from accounting.models import (
    AccountingSetup,
    BatchStatus,
    GLBatch,
    TransferMethod,
    TransferState,
)
from accounting.postables import PostableKind, get_kind, kinds, record_refs, unposted_rows
from accounting.services.common import attach
from accounting.steps import (
    identifier_in_use,
    nothing_to_rerecord,
    refuse,
    rerecord_state_refusal,
    transferring,
)
from core.counters import counter_next
from core.errors import ApplicationError, InvalidInput, NotFound

BATCH_IDENTIFIER_MAX = 50


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


def _new_identifier() -> str:
    while True:
        identifier = f"GL-{counter_next(name='gl_batch', start=0):05d}"
        if not GLBatch.objects.filter(batch_identifier=identifier).exists():
            return identifier


def _transfer_method(setup: AccountingSetup, transfer: str | None) -> str:
    if transfer is None:
        transfer = TransferMethod.DIRECT if setup.direct_transfer else TransferMethod.FILE
    if transfer not in (TransferMethod.DIRECT, TransferMethod.FILE):
        raise InvalidInput(
            "Transfer must be direct or file.",
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
        refuse(identifier_in_use(identifier))
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
    locked = lock_rows(kind.model._default_manager.filter(pk__in=ids))
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


def _refuse_unconfirmed_resend(batch: GLBatch, *, actor, confirm_resend: bool) -> None:
    """Records sent before go out again only once the user confirms the originals are
    removed; the refusal lists the originals to remove (batch, date, reference). Once
    confirmed, a connector removes the originals itself during the transfer."""
    if confirm_resend and batch.transfer_method == TransferMethod.FILE:
        # For a file, the user's confirmation is the removal: the originals' log rows
        # are marked removed, one UPDATE per kind, and the batch keeps the checklist.
        removed_at = timezone.now()
        for kind in kinds():
            selectors.live_logs_in_batch(batch, kind).update(
                removed_at=removed_at, removed_by=actor, removal="confirmed", replaced_by=batch
            )
        return
    live = selectors.live_sends_in_batch(batch)
    if not live:
        return
    if batch.transfer_method == TransferMethod.DIRECT:
        _refuse_paid_resend(batch, live)
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


def _refuse_paid_resend(batch: GLBatch, live: dict[tuple[str, int], list[dict]]) -> None:
    """A direct re-send removes the original from the package: one with a payment
    against it would be voided, and the payment lost. Refused, naming the records."""
    paid = selectors.paid_records(sorted(live))
    if not paid:
        return
    (record_type, record_id), amount = next(iter(sorted(paid.items())))
    reference = live[(record_type, record_id)][0]["reference"]
    raise ApplicationError(
        f"{reference} has a payment of {amount} in the accounting package"
        + (f" (and {len(paid) - 1} more of the chosen records)" if len(paid) > 1 else "")
        + ": sending it again through the connector would void the paid document. Correct "
        "it in the package instead, or send it in an export file and re-apply the payment.",
        code="record_paid",
        extra={
            "items": [
                {"type": t, "id": i, "reference": live[(t, i)][0]["reference"]}
                for t, i in sorted(paid)
            ]
        },
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
    filters: selectors.ListFilters | None = None,
) -> GLBatch:
    """Batch chosen records (or every unposted one, by kind and through a date, or
    every one the list's `filters` keep), lock them, and queue the transfer once the
    batch is committed."""
    if bool(items) == bool(all_unposted):
        raise InvalidInput(
            "Choose the records to batch, or ask for all unposted records.",
            fields={"items": ["Give items, or set all_unposted, not both."]},
        )
    identifier = _clean_identifier(batch_identifier)
    # A re-send the user confirmed stays a re-send (its originals are replaced).
    rerecord_of = None if confirm_resend else _deleted_batch_taking_back(identifier, items)
    if rerecord_of is not None:
        return batch_rerecord(actor=actor, batch_id=rerecord_of.pk, items=items)
    setup = selectors.accounting_setup()
    method = _transfer_method(setup, transfer)
    if identifier:
        refuse(identifier_in_use(identifier))
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
            rows = kind.model._default_manager.filter(pk__in=ids)
        else:
            if wanted_types is not None and kind.type not in wanted_types:
                continue
            # One UPDATE: rows another batch takes meanwhile drop out of its WHERE.
            rows = (
                selectors.filtered_unposted(kind, filters).order_by()
                if filters is not None
                else unposted_rows(kind, thru_date).order_by()
            )
        counts[kind.type] = attach(kind, rows, batch)
        if counts[kind.type]:
            audit_batch_records(event, kind, batch.pk)
    if method == TransferMethod.FILE:
        _refuse_what_the_format_cannot_carry(setup, counts)
    if not any(counts.values()):
        raise InvalidInput(
            "There are no unposted records to batch"
            + (" that match the filters" if filters is not None and not filters.is_empty() else "")
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
    if filters is not None and not filters.is_empty():
        # What "all matching" meant when the batch was made: the list's filters.
        event.changes["filters"] = "; ".join(
            f"{name.replace('_', ' ')} {value}"
            for name, value in vars(filters).items()
            if value not in (None, "")
        )
    event.save(update_fields=["changes"])
    tasks.queue_transfer(batch)
    return batch


def _deleted_batch_taking_back(
    identifier: str | None, items: list[dict[str, Any]] | None
) -> GLBatch | None:
    """The deleted batch whose ID was typed, when every chosen record is one of its
    unchanged records: the reference's own route back (tick them, type the original
    batch ID, TRANSFER) is then a re-record, not a re-send, unless the re-send was
    confirmed."""
    if not identifier or not items:
        return None
    holder = selectors.batch_holding(identifier)
    if holder is not None and not (holder.is_rerecord and holder.is_open()):
        return None
    deleted = (
        GLBatch.objects.filter(batch_identifier=identifier, status=BatchStatus.DELETED)
        .order_by("-pk")
        .first()
    )
    if deleted is None:
        return None
    unchanged = selectors.rerecordable_refs(deleted)
    chosen = {(i["type"], int(i["id"])) for i in items}
    return deleted if chosen <= unchanged else None


def _refuse_what_the_format_cannot_carry(setup: AccountingSetup, counts: dict[str, int]) -> None:
    refusal = get_exporter(setup.export_format).batch_refusal(counts, setup.options)
    if refusal:
        raise InvalidInput(
            f"These records cannot go in one {setup.get_export_format_display()} file. " + refusal,
            fields={"items": [refusal]},
        )


# --- after a delete: re-record what is already in the package ------------------------


def _refused_ref(record_type: str, record_id: int) -> dict[str, Any]:
    """A record a re-record refuses, with its reference when it exists."""
    kind = next((k for k in kinds() if k.type == record_type), None)
    record = kind.queryset().filter(pk=record_id).first() if kind else None
    if kind is None or record is None:
        return {"type": record_type, "id": record_id, "reference": f"{record_type} {record_id}"}
    return {"type": record_type, "id": record_id, "reference": kind.reference(record)}


@transaction.atomic
def batch_rerecord(
    *, actor: AbstractBaseUser, batch_id: int, items: list[dict[str, Any]] | None = None
) -> GLBatch:
    """Re-record the unchanged former records of a deleted batch under its original
    identifier as a file-only batch: they are in the accounting package already, so
    nothing is sent; the file is for reference, not for import."""
    deleted = lock_batch(batch_id)
    refuse(rerecord_state_refusal(deleted))
    unchanged = selectors.rerecordable_refs(deleted)
    wanted = {(i["type"], int(i["id"])) for i in items} if items else unchanged
    refused = wanted - unchanged
    if refused:
        refs = [_refused_ref(*key) for key in sorted(refused)]
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
    refuse(nothing_to_rerecord(deleted, wanted))
    # Records of several kinds go back under the one original ID: a later re-record
    # adds to the open re-record batch that already holds it, and writes its file again.
    holder = selectors.batch_holding(deleted.batch_identifier)
    if holder is not None and holder.is_rerecord and holder.is_open():
        batch = lock_batch(holder.pk)
        refuse(transferring(batch, "the unchanged records", "batch_not_open"))
        adding = True
    else:
        refuse(identifier_in_use(deleted.batch_identifier))
        batch = _insert_batch(
            actor=actor,
            identifier=deleted.batch_identifier,
            method=TransferMethod.FILE,
            setup=selectors.accounting_setup(),
            is_rerecord=True,
        )
        adding = False
    event = audit_batch(
        actor=actor,
        action="batch_rerecorded",
        batch=batch,
        changes={"from_batch": deleted.pk, "records": len(wanted), "added": adding},
    )
    grouped: dict[str, list[int]] = {}
    for record_type, record_id in wanted:
        grouped.setdefault(record_type, []).append(record_id)
    for kind in kinds():
        if kind.type in grouped:
            ids = _lock_chosen(kind, grouped[kind.type])
            attach(kind, kind.model._default_manager.filter(pk__in=ids), batch)
            audit_batch_records(event, kind, batch.pk)
    if adding:
        transfer.requeue(batch, actor=actor, action="transfer_retried", changes={"added": True})
    tasks.queue_transfer(batch)
    return batch
