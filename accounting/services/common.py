"""What the workflows share: attaching records to a batch, and the refusal while a
batch is being transferred."""

from django.db import models

from accounting.models import GLBatch
from accounting.postables import PostableKind
from core.errors import ApplicationError


def attach(kind: PostableKind, rows: models.QuerySet, batch: GLBatch) -> int:
    return rows.update(**{kind.batch_field: batch, kind.original_batch_field: None})


def refuse_while_transferring(batch: GLBatch, reference: str, code: str) -> None:
    """Refuse while a live process sends the batch; an interrupted transfer (its lease
    expired) locks nothing."""
    if batch.is_transferring():
        raise ApplicationError(
            f"GL batch {batch.batch_identifier} is being transferred right now, so "
            f"{reference} cannot leave or join it. Wait until the transfer is done.",
            code=code,
        )
