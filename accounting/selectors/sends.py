"""Reads of what was sent: the transfer log's rows of records that reached the
accounting package, and the sends of records still there."""

from collections import defaultdict

from django.db.models import Q, QuerySet

from accounting.models import GLBatch, TransferLog, TransferMethod, TransferState
from accounting.postables import batched_rows, kinds


def sent_logs() -> QuerySet:
    """Transfer-log rows of records that reached the package: every row of a direct
    transfer (each is logged once the package has it), and a file transfer's rows once
    its transfer is done (the file is made at the end; rows an unfinished one left
    behind say nothing was sent)."""
    return TransferLog.objects.filter(
        Q(method=TransferMethod.DIRECT) | Q(batch__transfer_state=TransferState.DONE)
    )


def live_sends(record_type: str, record_ids: list[int] | QuerySet) -> dict[int, list[dict]]:
    """For each record: its transfers still in the accounting package, oldest first."""
    rows = (
        sent_logs()
        .filter(record_type=record_type, record_id__in=record_ids, removed_at__isnull=True)
        .select_related("batch")
        .order_by("sent_at", "id")
    )
    sends: dict[int, list[dict]] = defaultdict(list)
    for log in rows:
        sends[log.record_id].append(
            {
                "log_id": log.pk,
                "batch_identifier": log.batch.batch_identifier,
                "batch_id": log.batch_id,
                "sent_at": log.sent_at,
                "reference": log.reference,
                "fingerprint": log.fingerprint,
                "external_reference": log.external_reference,
            }
        )
    return sends


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
