"""Reads of a record's audit trail."""

from django.db.models import Q

from accounting.audit import RECORD_ACTIONS
from accounting.models import AuditEvent, AuditEventRecord, AuditRecordSet


def batch_steps(*, record_type: str, record_id: int):
    """The ids of the batch-level audit events that moved the record: those whose set of
    records holds it (the sets' GIN index), and those linked to it before sets (the
    links' primary key). One query."""
    return (
        AuditRecordSet.objects.filter(record_type=record_type, record_ids__contains=[record_id])
        .values_list("event_id", flat=True)
        .union(
            AuditEventRecord.objects.filter(
                record_type=record_type, record_id=record_id
            ).values_list("event_id", flat=True),
            all=True,
        )
    )


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
