"""Reads of a record's audit trail."""

from django.db.models import Q

from accounting.audit import RECORD_ACTIONS
from accounting.models import AuditEvent, AuditEventRecord


def audit_trail(*, record_type: str, record_id: int) -> list[AuditEvent]:
    """A record's audit events, oldest first: its own, and the batch steps that moved it,
    each shown as the step the record went through ("batched", "batch_deleted", ...)."""
    linked = set(
        AuditEventRecord.objects.filter(record_type=record_type, record_id=record_id).values_list(
            "event_id", flat=True
        )
    )
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
