"""Recording a batch that an integration tool sent itself (transfer method `external`,
the ConnectWise-compatible API's `POST finance/accounting/batches`): the tool exported
the records' postings, wrote them into the accounting package, and now names them.
Nothing is sent; the records lock in the batch and the transfer log is written at once,
so the re-send guard knows they went out."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounting import selectors, transfer
from accounting.audit import audit_batch, audit_batch_records
from accounting.gl import AccountBook
from accounting.models import GLBatch, TransferMethod, TransferState
from accounting.postables import get_kind, kinds, record_refs
from accounting.services.batch_creation import (
    _clean_identifier,
    _insert_batch,
    _lock_chosen,
    _new_identifier,
)
from accounting.services.common import attach
from accounting.steps import identifier_in_use, refuse
from core.errors import ApplicationError, InvalidInput


@dataclass(frozen=True)
class SentRecord:
    """A record as the tool exported it: its kind, id and the fingerprint of the
    posting it was given."""

    type: str
    id: int
    fingerprint: str


@transaction.atomic
def batch_record_external(
    *, actor: AbstractBaseUser, records: list[SentRecord], batch_identifier: str | None = None
) -> GLBatch:
    """Batch the records the tool sent, if each is still exactly what it exported:
    a record changed since (its posting's fingerprint differs) is refused, naming it,
    and so is one sent before from another batch that is still in the package."""
    if not records:
        raise InvalidInput(
            "Name the records the batch holds.", fields={"items": ["Nothing to batch."]}
        )
    identifier = _clean_identifier(batch_identifier)
    if identifier:
        refuse(identifier_in_use(identifier))
    else:
        identifier = _new_identifier()
    setup = selectors.accounting_setup()
    batch = _insert_batch(
        actor=actor, identifier=identifier, method=TransferMethod.EXTERNAL, setup=setup
    )
    event = audit_batch(actor=actor, action="batch_created", batch=batch)
    expected: dict[str, dict[int, str]] = {}
    for record in records:
        expected.setdefault(get_kind(record.type).type, {})[record.id] = record.fingerprint
    book = AccountBook()
    postings = []
    counts: dict[str, int] = {}
    for kind in kinds():
        wanted = expected.get(kind.type)
        if not wanted:
            continue
        ids = _lock_chosen(kind, sorted(wanted))
        rows = kind.queryset().filter(pk__in=ids).order_by("pk")
        for posting in kind.bulk_postings(rows, book):
            if not posting.matches(wanted[posting.header.id]):
                raise ApplicationError(
                    f"{posting.header.reference} changed since it was exported; export it "
                    "again and record the batch with its new GL entry ids.",
                    code="record_changed",
                    extra={
                        "items": [
                            ref.as_item()
                            for ref in record_refs(kind, rows.filter(pk=posting.header.id))
                        ]
                    },
                )
            postings.append(posting)
        counts[kind.type] = attach(kind, kind.model._default_manager.filter(pk__in=ids), batch)
        audit_batch_records(event, kind, batch.pk)
    live = selectors.live_sends_in_batch(batch)
    if live:
        _, sends = min(live.items())
        raise ApplicationError(
            f"{sends[0]['reference']} is in the accounting package already, sent in GL batch "
            f"{sends[0]['batch_identifier']} on {sends[0]['sent_at']:%d %b %Y}. Re-record "
            "that batch, or send the record again from the product with the re-send "
            "confirmation.",
            code="retransfer_unconfirmed",
            extra={
                "items": [
                    {"type": t, "id": i, "reference": s[0]["reference"]}
                    for (t, i), s in sorted(live.items())
                ]
            },
        )
    transfer.log_sent(batch, postings)
    now = timezone.now()
    batch.transfer_state = TransferState.DONE
    batch.transfer_progress = 100
    batch.transfer_started_at = batch.transfer_finished_at = now
    batch.save(
        update_fields=[
            "transfer_state",
            "transfer_progress",
            "transfer_started_at",
            "transfer_finished_at",
        ]
    )
    event.changes = {"counts": counts, "transfer": TransferMethod.EXTERNAL}
    event.save(update_fields=["changes"])
    return batch
