"""Checks the record apps share: a record in a GL batch is locked (its refusal, for
the record apps' own step predicates, and the check that raises it)."""

from django.db import models

from accounting.models import GLBatch
from accounting.postables import get_kind
from accounting.steps import refuse
from core.errors import ApplicationError


def record_item(record_type: str, record: models.Model) -> dict[str, str | int]:
    """A refusal's item for a record: its type, id and reference, in its adapter's words."""
    kind = get_kind(record_type)
    return {"type": kind.type, "id": record.pk, "reference": kind.reference(record)}


def locked_refusal(
    *, record_type: str, record: models.Model, action: str = "changed"
) -> ApplicationError | None:
    """The refusal of any change to a record while it is in a GL batch, or None."""
    kind = get_kind(record_type)
    if not kind.is_locked(record):
        return None
    if record._meta.get_field(kind.batch_field).is_cached(record):  # a page loaded it
        identifier = getattr(record, kind.batch_field).batch_identifier
    else:
        batch_id = getattr(record, f"{kind.batch_field}_id")
        identifier = (
            GLBatch.objects.filter(pk=batch_id).values_list("batch_identifier", flat=True).first()
        )
    item = record_item(record_type, record)
    return ApplicationError(
        f"{item['reference']} is in GL batch {identifier} and cannot be {action}. "
        f"Unbatch it first (MORE > Unbatch), make the change, then rebatch it or send it "
        f"in a new batch.",
        code="record_locked",
        extra={"items": [item]},
    )


def ensure_unlocked(*, record_type: str, record: models.Model, action: str = "changed") -> None:
    """Refuse any change to a record while it is in a GL batch."""
    refuse(locked_refusal(record_type=record_type, record=record, action=action))
