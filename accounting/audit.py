"""Audit events: written by every workflow step in the same transaction as the step."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, models
from django.utils import timezone

from accounting.former import MOVES, record_changed
from accounting.models import AuditEvent, AuditEventRecord, AuditRecordSet, GLBatch
from accounting.postables import PostableKind, kind_types
from core.errors import ApplicationError

# A batch step is one audit event and, per kind, the ids of the records it moved
# (`AuditRecordSet`; events sealed before sets keep their `AuditEventRecord` links); in a
# record's audit trail it reads as the step that record went through.
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
    """One step on one record. A step that changes a postable record (all but its
    creation, unbatch and rebatch) also moves it from unchanged to changed in the split
    of any deleted batch that let it go (`accounting.former`)."""
    event = AuditEvent.objects.create(
        at=timezone.now(),
        actor=actor,
        action=action,
        record_type=record_type,
        record_id=record_id,
        batch=batch,
        changes=changes or {},
    )
    if (
        record_id is not None
        and action not in MOVES
        and action != "created"
        and record_type in kind_types()
    ):
        record_changed(record_type, record_id)
    return event


R = TypeVar("R", bound=models.Model)


def save_audited(
    record: R,
    changes: dict[str, Any],
    *,
    actor: AbstractBaseUser | None,
    action: str,
    record_type: str,
    state: Callable[[R], dict[str, Any]],
    noted: dict[str, Any] | None = None,
) -> AuditEvent:
    """One audited step on a locked record: set `changes` ({field: new value}) on it,
    save those fields only, and audit what `state` (the record's audited fields) shows
    changed, plus `noted` (what the state does not show, such as the lines replaced or
    the entries moved with it)."""
    before = state(record)
    for name, value in changes.items():
        setattr(record, name, value)
    record.save(update_fields=list(changes))
    return audit_record(
        actor=actor,
        action=action,
        record_type=record_type,
        record_id=record.pk,
        changes=field_changes(before, state(record)) | (noted or {}),
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
    """Keep which records of the kind now in the batch a batch step moved: one row of
    their sorted ids, written by one INSERT ... SELECT (none when the batch holds none
    of the kind); returns how many records."""
    sets = AuditRecordSet._meta.db_table
    column = kind.model._meta.get_field(kind.batch_field).column
    if connection.vendor != "postgresql":
        # The embedded default (SQLite) has no arrays: a link row per record, which
        # the trail reads beside the sets.
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {AuditEventRecord._meta.db_table} "
                "(event_id, record_type, record_id) "
                f"SELECT %s, %s, id FROM {kind.model._meta.db_table} WHERE {column} = %s",
                [event.pk, kind.type, batch_id],
            )
            return cursor.rowcount
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {sets} (event_id, record_type, record_ids) "
            f"SELECT %s, %s, array_agg(id ORDER BY id) FROM {kind.model._meta.db_table} "
            f"WHERE {column} = %s HAVING count(*) > 0 RETURNING cardinality(record_ids)",
            [event.pk, kind.type, batch_id],
        )
        row = cursor.fetchone()
        return int(row[0]) if row else 0


# --- the hash chain (migration 0007_audit_hash_chain) ---------------------------------


@dataclass(frozen=True)
class ChainReport:
    """What `verify_chain` found: how many events hold, the chain's last hash (worth
    noting outside the database: a removed tail leaves no gap behind), and the first
    link that does not hold, in words."""

    events: int
    head: str
    broken: str | None = None
    unsealed: tuple[int, ...] = ()


_VERIFY = """
SELECT id, chain_seq, chain_prev, chain_hash,
       lag(chain_hash) OVER w, lag(chain_seq) OVER w,
       accounting_audit_digest(id, chain_seq, chain_prev)
FROM accounting_auditevent WHERE chain_seq IS NOT NULL
WINDOW w AS (ORDER BY chain_seq) ORDER BY chain_seq
"""


def verify_chain() -> ChainReport:
    """Recompute every audit event's hash in chain order (PostgreSQL) and report the
    first break: an event changed after it was written, one removed from the middle of
    the chain, or one written outside it."""
    if connection.vendor != "postgresql":
        raise ApplicationError(
            "The audit trail's hash chain is kept on PostgreSQL; this database is "
            f"{connection.vendor}.",
            code="validation_error",
            status_code=400,
        )
    unsealed = tuple(
        AuditEvent.objects.filter(chain_seq__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)[:20]
    )
    count, head = 0, ""
    with connection.chunked_cursor() as cursor:
        cursor.execute(_VERIFY)
        for event_id, seq, prev, stored, expected_prev, prev_seq, expected in cursor:
            if seq != (prev_seq or 0) + 1:
                return ChainReport(count, head, _missing(prev_seq or 0, seq), unsealed)
            if prev != (expected_prev or ""):
                return ChainReport(
                    count,
                    head,
                    f"Audit event {event_id} (place {seq}) does not follow the event before "
                    "it: its link to that event was changed.",
                    unsealed,
                )
            if stored != expected:
                return ChainReport(
                    count,
                    head,
                    f"Audit event {event_id} (place {seq}) was changed after it was written: "
                    "its content no longer matches its hash.",
                    unsealed,
                )
            count, head = count + 1, stored
    return ChainReport(count, head, None, unsealed)


def _missing(last: int, seq: int) -> str:
    gone = f"place {last + 1}" if seq == last + 2 else f"places {last + 1} to {seq - 1}"
    return f"Audit events are missing from the chain at {gone}: they were deleted."
