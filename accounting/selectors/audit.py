"""Reads of a record's audit trail."""

from django.db import connection
from django.db.models import Q

from accounting.audit import RECORD_ACTIONS
from accounting.models import AuditEvent, AuditEventRecord


def batch_steps(*, record_type: str, record_id: int) -> list[int]:
    """The ids of the batch-level audit events that moved the record: those whose set of
    records holds it (`accounting_batch_steps`, on the sets' GIN index), and those
    linked to it before sets (the links' primary key). One query."""
    with connection.cursor() as cursor:
        params: list[str | int] = [record_type, record_id]
        if connection.vendor == "postgresql":
            params *= 2
        cursor.execute(batch_steps_sql(), params)
        return [event_id for (event_id,) in cursor.fetchall()]


def batch_steps_sql() -> str:
    """The query of `batch_steps`; parameters: record type, id, type, id (on the
    embedded default, SQLite, whose batch steps write links only: type, id)."""
    links = (
        f"SELECT event_id FROM {AuditEventRecord._meta.db_table} "
        "WHERE record_type = %s AND record_id = %s"
    )
    if connection.vendor != "postgresql":
        return links
    return f"SELECT accounting_batch_steps(%s, %s) UNION ALL {links}"


def audit_trail(*, record_type: str, record_id: int) -> list[AuditEvent]:
    """A record's audit events, oldest first: its own, and the batch steps that moved it,
    each shown as the step the record went through ("batched", "batch_deleted", ...)."""
    linked = set(batch_steps(record_type=record_type, record_id=record_id))
    events = list(
        AuditEvent.objects.filter(
            Q(record_type=record_type, record_id=record_id) | Q(pk__in=linked)
        )
        .select_related("actor", "batch")
        .order_by("at", "id")
    )
    for event in events:
        if event.pk in linked:
            # The batch's counts belong to the batch's own trail, not to the record's.
            event.action, event.changes = RECORD_ACTIONS[event.action], {}
    return events
