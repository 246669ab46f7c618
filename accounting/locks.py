"""Row locks, always taken in one order: the batch, then records by kind (invoice,
expense, freight, product), then by primary key. Every workflow takes its locks
through these helpers so that two workflows never deadlock."""

from django.db import models

from accounting.models import GLBatch
from accounting.postables import PostableKind
from core.errors import NotFound


def lock_batch(batch_id: int) -> GLBatch:
    try:
        return GLBatch.objects.select_for_update().get(pk=batch_id)
    except GLBatch.DoesNotExist:
        raise NotFound(f"There is no GL batch with id {batch_id}.") from None


def lock_record(kind: PostableKind, record_id: int) -> models.Model:
    """Lock one record of a kind, with the rows its adapter joins in (its reference and
    company), but not its lines."""
    try:
        return (
            kind.queryset().prefetch_related(None).select_for_update(of=("self",)).get(pk=record_id)
        )
    except kind.model.DoesNotExist:
        raise NotFound(f"There is no {kind.label.lower()} with id {record_id}.") from None


def lock_rows(queryset: models.QuerySet) -> list[int]:
    """Lock the rows of a queryset in primary key order; their ids."""
    return list(
        queryset.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True)
    )
