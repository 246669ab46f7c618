"""The audit trail is tamper-evident: every committed event is sealed into a hash chain,
and `manage.py verify_audit` finds the first event changed, removed or slipped in by hand."""

import importlib
import itertools
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from accounting import services as accounting
from accounting.models import AuditEvent, AuditEventRecord, AuditRecordSet
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


def test_a_record_taken_out_of_a_batch_steps_set_is_found(history):
    event = AuditEvent.objects.get(action="batch_created")
    assert len(AuditRecordSet.objects.get(event=event).record_ids) == 3
    sql(
        "UPDATE accounting_auditrecordset SET record_ids = record_ids[2:] WHERE event_id = %s",
        [event.pk],
    )
    with pytest.raises(CommandError, match=f"Audit event {event.pk} "):
        verify()


def test_a_batch_steps_set_removed_is_found(history):
    event = AuditEvent.objects.get(action="batch_created")
    sql("DELETE FROM accounting_auditrecordset WHERE event_id = %s", [event.pk])
    with pytest.raises(CommandError, match=f"Audit event {event.pk} "):
        verify()


def _write_linked_event(finance, invoices):
    """A batch step as it was audited before sets: its records linked one row each."""
    with transaction.atomic():
        event = AuditEvent.objects.create(
            at=timezone.now(), actor=finance, action="batch_created", changes={"counts": {}}
        )
        AuditEventRecord.objects.bulk_create(
            AuditEventRecord(event=event, record_type="invoice", record_id=i.pk) for i in invoices
        )
    return event


def test_events_sealed_with_links_keep_the_hash_they_were_sealed_with(
    history, finance, make_invoice
):
    event = _write_linked_event(finance, [make_invoice(), make_invoice()])
    # The digest events were sealed with before sets (migration 0007), beside today's.
    chain = importlib.import_module("accounting.migrations.0007_audit_hash_chain")
    sql(chain.DIGEST.replace("accounting_audit_digest", "pg_temp.audit_digest_0007"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.id, e.chain_hash = pg_temp.audit_digest_0007(e.id, e.chain_seq, "
            "e.chain_prev) FROM accounting_auditevent AS e WHERE NOT EXISTS "
            "(SELECT 1 FROM accounting_auditrecordset AS s WHERE s.event_id = e.id)"
        )
        same = dict(cursor.fetchall())
    assert same[event.pk] is True and all(same.values())
    assert "intact" in verify()

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
