"""Checks the record apps share: a record in a GL batch is locked."""

from django.db import models

from accounting.models import GLBatch
from accounting.postables import get_kind
from core.errors import ApplicationError


def record_item(record_type: str, record: models.Model) -> dict[str, str | int]:
    """A refusal's item for a record: its type, id and reference, in its adapter's words."""
    kind = get_kind(record_type)
    return {"type": kind.type, "id": record.pk, "reference": kind.reference(record)}


def ensure_unlocked(*, record_type: str, record: models.Model, action: str = "changed") -> None:
    """Refuse any change to a record while it is in a GL batch."""
    kind = get_kind(record_type)
    if not kind.is_locked(record):
        return
    batch_id = getattr(record, f"{kind.batch_field}_id")
    identifier = (
        GLBatch.objects.filter(pk=batch_id).values_list("batch_identifier", flat=True).first()
    )
    item = record_item(record_type, record)
    raise ApplicationError(
        f"{item['reference']} is in GL batch {identifier} and cannot be {action}. "
        f"Unbatch it first (MORE > Unbatch), make the change, then rebatch it or send it "
        f"in a new batch.",
        code="record_locked",
        extra={"items": [item]},
    )
