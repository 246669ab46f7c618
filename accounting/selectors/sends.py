"""Reads of what was sent: the transfer log's rows of records that reached the
accounting package, and the sends of records still there."""

from collections import defaultdict

from django.db.models import Q, QuerySet

from accounting.models import GLBatch, TransferLog, TransferMethod, TransferState
from accounting.postables import PostableKind, batched_rows, kinds


def sent_logs() -> QuerySet:
    """Transfer-log rows of records that reached the package: every row of a direct
    transfer (each is logged once the package has it), and a file transfer's rows once
    its transfer is done (the file is made at the end; rows an unfinished one left
    behind say nothing was sent)."""
    return TransferLog.objects.filter(
        Q(method=TransferMethod.DIRECT) | Q(batch__transfer_state=TransferState.DONE)
    )


# The fields of a send, as `live_sends` answers them.
SEND_FIELDS = (
    "log_id",
    "batch_identifier",
    "batch_id",
    "sent_at",
    "reference",
    "fingerprint",
    "external_reference",
)


def live_sends(record_type: str, record_ids: list[int] | QuerySet) -> dict[int, list[dict]]:
    """For each record: its transfers still in the accounting package, oldest first.
    Read as values, not log rows: a re-send of a deleted batch's records reads one per
    record."""
    rows = (
        sent_logs()
        .filter(record_type=record_type, record_id__in=record_ids, removed_at__isnull=True)
        .order_by("sent_at", "id")
        .values_list(
            "record_id",
            "pk",
            "batch__batch_identifier",
            "batch_id",
            "sent_at",
            "reference",
            "fingerprint",
            "external_reference",
        )
    )
    sends: dict[int, list[dict]] = defaultdict(list)
    for record_id, *send in rows:
        sends[record_id].append(dict(zip(SEND_FIELDS, send, strict=True)))
    return sends


def live_logs_in_batch(batch: GLBatch, kind: PostableKind) -> QuerySet:
    """The transfer-log rows, still in the package, of the kind's records in `batch`
    sent by other batches: what a confirmed re-send replaces, as one set."""
    return (
        sent_logs()
        .filter(
            record_type=kind.type,
            record_id__in=batched_rows(kind, batch.pk).values("pk"),
            removed_at__isnull=True,
        )
        .exclude(batch_id=batch.pk)
    )


def live_sends_in_batch(batch: GLBatch) -> dict[tuple[str, int], list[dict]]:
    """The records of a batch that are in the accounting package from other batches."""
    found: dict[tuple[str, int], list[dict]] = {}
    for kind in kinds():
        ids = batched_rows(kind, batch.pk).values("pk")
        for record_id, sends in live_sends(kind.type, ids).items():
            others = [s for s in sends if s["batch_id"] != batch.pk]
            if others:
                found[(kind.type, record_id)] = others
    return found
