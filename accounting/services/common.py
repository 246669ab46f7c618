"""What the workflows share: attaching records to a batch."""

from django.db import models

from accounting.models import GLBatch
from accounting.postables import PostableKind


def attach(kind: PostableKind, rows: models.QuerySet, batch: GLBatch) -> int:
    return rows.update(**{kind.batch_field: batch, kind.original_batch_field: None})
