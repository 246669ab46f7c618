"""The audit trail is tamper-evident: every committed event is sealed into a hash chain,
and `manage.py verify_audit` finds the first event changed, removed or slipped in by hand."""

import itertools
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounting import services as accounting
from accounting.models import AuditEvent, AuditEventRecord
from tests.workflows.test_concurrency import run_together

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def history(finance, make_invoice):
    """A book with a few committed workflow steps: records created, batched, one
    unbatched and rebatched, the batch's transfer done."""
    invoices = [make_invoice() for _ in range(3)]
    batch = accounting.batch_create(
        actor=finance, items=[{"type": "invoice", "id": i.pk} for i in invoices]
    )
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=invoices[0].pk)
    accounting.record_rebatch(actor=finance, record_type="invoice", record_id=invoices[0].pk)
    return batch


def test_every_committed_event_is_sealed_in_order_and_the_chain_verifies(history):
    events = list(AuditEvent.objects.order_by("chain_seq"))
    assert len(events) > 5
    assert [e.chain_seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].chain_prev == ""
    for before, after in itertools.pairwise(events):
        assert after.chain_prev == before.chain_hash
        assert len(after.chain_hash) == 64
    assert verify() == (
        f"The audit trail is intact: {len(events)} events, chain head {events[-1].chain_hash}.\n"
    )


def test_an_event_edited_in_sql_is_found(history):
    target = AuditEvent.objects.filter(action="unbatched").get()
    sql(
        "UPDATE accounting_auditevent SET changes = '{}'::jsonb WHERE id = %s",
        [target.pk],
    )
    with pytest.raises(CommandError) as refused:
        verify()
    assert f"Audit event {target.pk} (place {target.chain_seq}) was changed" in str(refused.value)
    assert f"after {target.chain_seq - 1} intact events" in str(refused.value)


def test_a_changed_actor_or_time_is_found_too(history, staff):
    target = AuditEvent.objects.filter(action="rebatched").get()
    sql("UPDATE accounting_auditevent SET actor_id = %s WHERE id = %s", [staff.pk, target.pk])
    with pytest.raises(CommandError, match=f"Audit event {target.pk} "):
        verify()


def test_a_record_unlinked_from_a_batch_step_is_found(history):
    event = AuditEvent.objects.get(action="batch_created")
    link = AuditEventRecord.objects.filter(event=event).first()
    sql(
        "DELETE FROM accounting_auditeventrecord WHERE event_id = %s AND record_id = %s",
        [event.pk, link.record_id],
    )
    with pytest.raises(CommandError, match=f"Audit event {event.pk} "):
        verify()


def test_a_deleted_event_leaves_a_gap_that_is_found(history):
    target = AuditEvent.objects.filter(action="unbatched").get()
    sql("DELETE FROM accounting_auditevent WHERE id = %s", [target.pk])
    with pytest.raises(CommandError, match=f"missing from the chain at place {target.chain_seq}"):
        verify()


def test_an_event_slipped_in_with_the_seal_off_is_named(history):
    sql("ALTER TABLE accounting_auditevent DISABLE TRIGGER accounting_audit_seal")
    try:
        sql(
            "INSERT INTO accounting_auditevent (at, action, record_type, changes, chain_prev, "
            "chain_hash) VALUES (now(), 'unbatched', 'invoice', '{}', '', '')"
        )
    finally:
        sql("ALTER TABLE accounting_auditevent ENABLE TRIGGER accounting_audit_seal")
    slipped = AuditEvent.objects.get(chain_seq__isnull=True)
    with pytest.raises(CommandError, match=f"Audit events {slipped.pk} were written outside"):
        verify()


def test_steps_committing_at_once_extend_one_chain(finance, make_invoice):
    invoices = [make_invoice() for _ in range(8)]
    outcomes = run_together(
        *[
            (
                lambda pk=i.pk: (
                    accounting.batch_create(actor=finance, items=[{"type": "invoice", "id": pk}]).pk
                )
            )
            for i in invoices
        ]
    )
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    seqs = list(AuditEvent.objects.order_by("chain_seq").values_list("chain_seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert "intact" in verify()
