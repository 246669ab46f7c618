"""A batch step is one audit event and, per kind, one set of the records it moved, and
each record's audit trail still reads the step it went through (events written before
sets keep their per-record links, and trails read those too)."""

import importlib

from django.apps import apps
from django.utils import timezone

from accounting import selectors
from accounting import services as accounting
from accounting.models import AuditEvent, AuditEventRecord, AuditRecordSet
from tests.helpers import send


def moved(event):
    """The records a batch step moved, from its sets: (type, id), sorted."""
    return sorted(
        (record_type, record_id)
        for record_type, ids in event.record_sets.values_list("record_type", "record_ids")
        for record_id in ids
    )


def trail(record_type, record_id):
    return [
        (event.action, event.batch_id, event.actor_id, event.changes)
        for event in selectors.audit_trail(record_type=record_type, record_id=record_id)
    ]


def test_batch_create_and_delete_write_one_event_each_linked_to_every_record(
    finance, make_invoice, make_expense
):
    invoices = [make_invoice() for _ in range(3)]
    expense = make_expense()
    before = AuditEvent.objects.count()

    batch = accounting.batch_create(actor=finance, all_unposted=True, transfer="file")

    created = AuditEvent.objects.get(batch=batch, action="batch_created")
    assert AuditEvent.objects.count() == before + 1
    assert created.changes["counts"] == {"invoice": 3, "expense": 1, "freight": 0, "product": 0}
    assert moved(created) == sorted(
        [("invoice", i.pk) for i in invoices] + [("expense", expense.pk)]
    )
    # One row per kind, its ids in order; no row per record.
    assert created.record_sets.count() == 2
    assert created.record_sets.get(record_type="invoice").record_ids == sorted(
        i.pk for i in invoices
    )
    assert not AuditEventRecord.objects.exists()
    for record_type, record_id in [("invoice", invoices[0].pk), ("expense", expense.pk)]:
        assert trail(record_type, record_id)[-1] == ("batched", batch.pk, finance.pk, {})

    accounting.batch_delete(actor=finance, batch_id=batch.pk)

    deleted = AuditEvent.objects.get(batch=batch, action="batch_deleted")
    assert deleted.changes == {"counts": {"invoice": 3, "expense": 1, "freight": 0, "product": 0}}
    assert len(moved(deleted)) == 4
    assert [action for action, *_ in trail("invoice", invoices[1].pk)][-2:] == [
        "batched",
        "batch_deleted",
    ]
    # The batch's own events keep the step's name and what it did.
    assert list(
        AuditEvent.objects.filter(batch=batch, record_type="").values_list("action", flat=True)
    ) == ["batch_created", "batch_deleted"]


def test_a_deleted_batch_lists_every_record_it_let_go_and_their_trails_read_each_step(
    finance, make_invoice
):
    kept, unbatched = make_invoice(), make_invoice()
    batch = accounting.batch_create(actor=finance, all_unposted=True, transfer="file")
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=unbatched.pk)
    accounting.record_rebatch(actor=finance, record_type="invoice", record_id=unbatched.pk)
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=kept.pk)
    accounting.record_rebatch(actor=finance, record_type="invoice", record_id=kept.pk)
    accounting.batch_delete(actor=finance, batch_id=batch.pk)

    split = selectors.deleted_batch_changes(batch)

    assert sorted(i["id"] for group in split.values() for i in group) == sorted(
        [kept.pk, unbatched.pk]
    )
    actions = [action for action, *_ in trail("invoice", kept.pk)]
    assert actions[-4:] == ["batched", "unbatched", "rebatched", "batch_deleted"]


def test_the_migration_links_per_record_batch_events_to_their_batch_event(finance, make_invoice):
    invoice = make_invoice()
    batch = accounting.batch_create(actor=finance, all_unposted=True, transfer="file")
    created = AuditEvent.objects.get(batch=batch, action="batch_created")
    # As batch steps were audited before: one event per record, beside the batch's own.
    AuditRecordSet.objects.filter(event=created).delete()
    AuditEvent.objects.create(
        at=timezone.now(),
        actor=finance,
        action="batched",
        record_type="invoice",
        record_id=invoice.pk,
        batch=batch,
    )
    migration = importlib.import_module("accounting.migrations.0005_audit_event_records")

    migration.link_records_to_their_batch_events(apps, None)

    assert list(created.records.values_list("record_type", "record_id")) == [
        ("invoice", invoice.pk)
    ]
    assert not AuditEvent.objects.filter(action="batched").exists()
    assert trail("invoice", invoice.pk)[-1] == ("batched", batch.pk, finance.pk, {})


def test_a_record_trail_reads_every_batch_step_from_the_sets_in_order(
    finance, make_invoice, make_expense, django_capture_on_commit_callbacks
):
    invoice, other, expense = make_invoice(), make_invoice(), make_expense()
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [
            {"type": "invoice", "id": invoice.pk},
            {"type": "invoice", "id": other.pk},
            {"type": "expense", "id": expense.pk},
        ],
    )
    accounting.batch_delete(actor=finance, batch_id=batch.pk)
    with django_capture_on_commit_callbacks(execute=True):
        rerecord = accounting.batch_rerecord(actor=finance, batch_id=batch.pk)

    steps = [
        (action, batch_id)
        for action, batch_id, *_ in trail("invoice", invoice.pk)
        if action in ("batched", "batch_deleted", "rerecorded")
    ]
    assert steps == [
        ("batched", batch.pk),
        ("batch_deleted", batch.pk),
        ("rerecorded", rerecord.pk),
    ]
    # Kept by one set per step and kind, not a row per record.
    assert not AuditEventRecord.objects.exists()
    assert AuditRecordSet.objects.filter(record_type="invoice").count() == 3
    # The expense entry with the same id as an invoice is not in the invoice's trail.
    assert [a for a, *_ in trail("expense", expense.pk)].count("batched") == 1

    # A step written before sets (its records linked one row each) reads the same.
    created = AuditEvent.objects.get(batch=batch, action="batch_created")
    AuditEventRecord.objects.bulk_create(
        AuditEventRecord(event=created, record_type=t, record_id=i) for t, i in moved(created)
    )
    AuditRecordSet.objects.filter(event=created).delete()
    assert [
        (action, batch_id)
        for action, batch_id, *_ in trail("invoice", invoice.pk)
        if action in ("batched", "batch_deleted", "rerecorded")
    ] == steps
