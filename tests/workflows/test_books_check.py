"""The books check on a real beancount ledger: each class of difference made on purpose
in the ledger or the PSA and found; each one-click fix repairs it, and the next run
finds the record in step."""

import re
from decimal import Decimal

import pytest
from beancount import loader
from beancount.core.data import Transaction

from accounting import services as accounting
from accounting.models import (
    AccountingSetup,
    AuditEvent,
    Reconciliation,
    ReconciliationDifference,
    TransferLog,
)
from invoicing import services as invoice_services
from tests.helpers import DAY, refused, send, status


@pytest.fixture
def ledger(ledger_root, db):
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": "books.beancount"}
    )
    return ledger_root / "books.beancount"


def block_of(text: str, record_id: int) -> str:
    """The transaction the connector wrote for an invoice: its date line, its indented
    lines and the blank line after it."""
    match = re.search(
        rf"^\d{{4}}-\d\d-\d\d \*[^\n]*\n  psa_record: \"invoice:{record_id}\"\n"
        r"(?:[ \t][^\n]*\n)*\n",
        text,
        re.M,
    )
    assert match, f"invoice {record_id} is not in the ledger"
    return match[0]


def check(capture, actor, **scope) -> Reconciliation:
    with capture(execute=True):
        run = accounting.reconciliation_start(actor=actor, **scope)
    run.refresh_from_db()
    assert run.state == "done", run.error
    return run


def classes(run: Reconciliation) -> dict[int, str]:
    return dict(run.differences.values_list("record_id", "kind"))


def edit_and_rebatch(actor, invoice):
    """Unbatch, correct the lines, close and rebatch into the original batch: the PSA
    changes, nothing is sent."""
    accounting.record_unbatch(actor=actor, record_type="invoice", record_id=invoice.pk)
    invoice.refresh_from_db()
    invoice = invoice_services.invoice_update(actor=actor, invoice=invoice, status=status("New"))
    invoice = invoice_services.invoice_update(
        actor=actor,
        invoice=invoice,
        lines=[
            {"description": "Corrected", "quantity": Decimal("3"), "unit_price": Decimal("100")}
        ],
    )
    invoice = invoice_services.invoice_update(actor=actor, invoice=invoice, status=status("Closed"))
    accounting.record_rebatch(actor=actor, record_type="invoice", record_id=invoice.pk)
    return invoice


def test_each_difference_is_found_and_the_fixes_bring_the_records_in_step(
    ledger, finance, make_invoice, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    in_step, missing, duplicated, changed_there, changed_here = (make_invoice() for _ in range(5))
    batch = send(
        capture,
        finance,
        [
            {"type": "invoice", "id": invoice.pk}
            for invoice in (in_step, missing, duplicated, changed_there, changed_here)
        ],
    )
    first = check(capture, finance)
    assert first.counts["in_step"] == 5 and first.differences_count == 0

    text = ledger.read_text()
    # Missing: deleted by hand in the package.
    text = text.replace(block_of(text, missing.pk), "")
    # Duplicated: an original another batch sent, left in the package.
    copy = block_of(text, duplicated.pk).replace(batch.batch_identifier, "OLD-7")
    # Changed in the package: its date moved by hand.
    moved = block_of(text, changed_there.pk)
    text = text.replace(moved, moved.replace(DAY.isoformat(), "2026-11-20", 1))
    # Unknown: carries the product's tag, but nothing was ever sent for it.
    stranger = (
        block_of(text, in_step.pk)
        .replace(f"invoice:{in_step.pk}", "invoice:987654")
        .replace(f"psa-invoice-{in_step.pk}", "psa-invoice-987654")
    )
    ledger.write_text(text + copy + stranger)
    # Changed in the PSA: edited and rebatched after it was sent.
    changed_here = edit_and_rebatch(finance, changed_here)

    second = check(capture, finance)
    assert classes(second) == {
        missing.pk: "missing",
        duplicated.pk: "duplicated",
        changed_there.pk: "changed_in_package",
        changed_here.pk: "changed_in_psa",
        987654: "unknown",
    }
    assert second.counts == {
        "in_step": 1,
        "missing": 1,
        "duplicated": 1,
        "changed_in_package": 1,
        "changed_in_psa": 1,
        "unknown": 1,
    }
    # Both sides' values are kept.
    moved_diff = second.differences.get(record_id=changed_there.pk)
    assert moved_diff.package[0]["date"] == "2026-11-20"
    assert moved_diff.psa["current"]["date"] == DAY.isoformat()
    assert moved_diff.batch_identifier == batch.batch_identifier
    dup = second.differences.get(record_id=duplicated.pk)
    assert sorted(copy["batch"] for copy in dup.package) == sorted(
        ["OLD-7", batch.batch_identifier]
    )
    edited = second.differences.get(record_id=changed_here.pk)
    assert edited.psa["current"]["changed"] is True
    assert edited.psa["sent"]["lines"] != edited.psa["current"]["lines"]

    # Reported only: the package is never overwritten without the user's choice.
    for record_id in (changed_there.pk, 987654):
        with refused("not_fixable"):
            accounting.difference_fix(
                actor=finance, difference_id=second.differences.get(record_id=record_id).pk
            )

    with capture(execute=True):
        for record_id in (duplicated.pk, missing.pk, changed_here.pk):
            accounting.difference_fix(
                actor=finance, difference_id=second.differences.get(record_id=record_id).pk
            )
    fixed = ReconciliationDifference.objects.filter(fixed_at__isnull=False)
    assert dict(fixed.values_list("record_id", "fix")) == {
        duplicated.pk: "remove",
        missing.pk: "resend",
        changed_here.pk: "resend",
    }
    assert set(
        AuditEvent.objects.filter(
            action__startswith="books_check_", record_id__isnull=False
        ).values_list("action", "record_id")
    ) == {
        ("books_check_remove", duplicated.pk),
        ("books_check_resend", missing.pk),
        ("books_check_resend", changed_here.pk),
    }
    # The edited invoice went out again, and its original was removed by the connector.
    original = TransferLog.objects.get(batch=batch, record_id=changed_here.pk)
    assert original.removal == "connector" and original.replaced_by_id is not None

    third = check(capture, finance)
    assert classes(third) == {changed_there.pk: "changed_in_package", 987654: "unknown"}
    assert third.counts["in_step"] == 4

    entries, errors, _ = loader.load_file(str(ledger))
    assert errors == []
    records = sorted(e.meta["psa_record"] for e in entries if isinstance(e, Transaction))
    assert records == sorted(
        f"invoice:{pk}"
        for pk in (in_step.pk, missing.pk, duplicated.pk, changed_there.pk, changed_here.pk, 987654)
    )


def test_a_run_covers_one_batch_or_a_date_range(
    ledger, finance, make_invoice, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    first, second = make_invoice(), make_invoice()
    one = send(capture, finance, [{"type": "invoice", "id": first.pk}])
    two = send(capture, finance, [{"type": "invoice", "id": second.pk}])
    text = ledger.read_text()
    ledger.write_text(text.replace(block_of(text, second.pk), ""))

    assert classes(check(capture, finance, batch_id=one.pk)) == {}
    assert check(capture, finance, batch_id=one.pk).counts["in_step"] == 1
    assert classes(check(capture, finance, batch_id=two.pk)) == {second.pk: "missing"}
    later = check(capture, finance, date_from=DAY.replace(day=4))
    assert sum(later.counts.values()) == 0
    around = check(capture, finance, date_from=DAY, date_to=DAY)
    assert around.counts["in_step"] == 1 and classes(around) == {second.pk: "missing"}


def test_a_check_is_refused_without_a_connector_and_for_a_backward_range(db, finance):
    with refused("no_connector"):
        accounting.reconciliation_start(actor=finance)
    AccountingSetup.objects.filter(pk=1).update(package="beancount", direct_transfer=True)
    with refused("validation_error"):
        accounting.reconciliation_start(actor=finance, date_from=DAY, date_to=DAY.replace(day=1))
    assert not Reconciliation.objects.exists()


def test_a_duplicate_is_refused_when_every_copy_carries_the_current_batch(
    ledger, finance, make_invoice, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    invoice = make_invoice()
    send(capture, finance, [{"type": "invoice", "id": invoice.pk}])
    text = ledger.read_text()
    ledger.write_text(text + block_of(text, invoice.pk))
    run = check(capture, finance)
    with refused("not_fixable") as refusal:
        accounting.difference_fix(actor=finance, difference_id=run.differences.get().pk)
    assert "by hand" in refusal.value.message
    assert len(re.findall(f"invoice:{invoice.pk}", ledger.read_text())) == 2
