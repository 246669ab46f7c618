"""Audit events: written by every workflow step in the same transaction as the step."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, models
from django.utils import timezone

from accounting.models import AuditEvent, AuditEventRecord, GLBatch
from accounting.postables import PostableKind

# A batch step is one audit event linked to the records it moved; in a record's audit
# trail it reads as the step that record went through.
RECORD_ACTIONS = {
    "batch_created": "batched",
    "batch_deleted": "batch_deleted",
    "batch_rerecorded": "rerecorded",
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"before": .., "after": ..}} for the fields whose value changed."""
    return {
        name: {"before": _jsonable(before.get(name)), "after": _jsonable(value)}
        for name, value in after.items()
        if _jsonable(before.get(name)) != _jsonable(value)
    }


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    record_type: str,
    record_id: int | None,
    batch: GLBatch | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        at=timezone.now(),
        actor=actor,
        action=action,
        record_type=record_type,
        record_id=record_id,
        batch=batch,
        changes=changes or {},
    )


def audit_batch(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    batch: GLBatch,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        at=timezone.now(), actor=actor, action=action, batch=batch, changes=changes or {}
    )


def audit_batch_records(event: AuditEvent, kind: PostableKind, batch_id: int) -> int:
    """Link a batch step's audit event to every record of the kind now in the batch, in
    one INSERT ... SELECT; returns how many were linked."""
    links = AuditEventRecord._meta.db_table
    column = kind.model._meta.get_field(kind.batch_field).column
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {links} (event_id, record_type, record_id) "
            f"SELECT %s, %s, id FROM {kind.model._meta.db_table} WHERE {column} = %s",
            [event.pk, kind.type, batch_id],
        )
        return cursor.rowcount
