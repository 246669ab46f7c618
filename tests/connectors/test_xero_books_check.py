"""The books check and payments back on Xero (the local server that plays Xero's
Accounting API): differences made on purpose in Xero are found, the one-click fixes
repair them, and payments entered in Xero come back to the right invoices."""

from datetime import date
from decimal import Decimal

import pytest

from accounting import services as accounting
from accounting.connectors import get_connector
from accounting.gl import AccountBook
from accounting.models import AccountingSetup, Reconciliation, XeroDocument
from accounting.postables import get_kind
from invoicing import selectors as invoice_selectors
from tests.helpers import send

pytestmark = pytest.mark.django_db

OPTIONS = {"xero_tax_types": {"ST": "EXEMPTOUTPUT"}}


@pytest.fixture
def xero(fake_xero, connection):
    fake_xero.accounts = None  # Xero's chart holds every account code the PSA sends
    AccountingSetup.objects.filter(pk=1).update(
        package="xero", direct_transfer=True, options=OPTIONS
    )
    return fake_xero


def check(capture, actor, **scope) -> Reconciliation:
    with capture(execute=True):
        run = accounting.reconciliation_start(actor=actor, **scope)
    run.refresh_from_db()
    assert run.state == "done", run.error
    return run


def classes(run: Reconciliation) -> dict[int, str]:
    return dict(run.differences.values_list("record_id", "kind"))


def document_of(invoice, batch_identifier: str) -> str:
    return XeroDocument.objects.get(
        record_type="invoice", record_id=invoice.pk, batch_identifier=batch_identifier
    ).invoice_id


def send_outside_a_batch(invoice, batch_identifier: str) -> str:
    """The connector sends the invoice under another batch, which the transfer log
    does not know of (say, a batch deleted and sent again while its originals stayed)."""
    kind = get_kind("invoice")
    [posting] = kind.bulk_postings(kind.model.objects.filter(pk=invoice.pk), AccountBook())
    sent = get_connector("xero", OPTIONS).send([posting], batch_identifier=batch_identifier)
    return sent[("invoice", invoice.pk)]


def test_the_books_check_reads_xero_and_its_fixes_bring_the_records_in_step(
    xero, finance, make_invoice, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    in_step, missing, duplicated, changed_there = (make_invoice() for _ in range(4))
    never_sent = make_invoice()
    batch = send(
        capture,
        finance,
        [{"type": "invoice", "id": i.pk} for i in (in_step, missing, duplicated, changed_there)],
    )
    first = check(capture, finance)
    assert first.counts["in_step"] == 4 and first.differences_count == 0

    identifier = batch.batch_identifier
    # Missing: voided by hand in Xero.
    xero.invoices[document_of(missing, identifier)]["Status"] = "VOIDED"
    # Duplicated: an original another batch sent, left in Xero.
    send_outside_a_batch(duplicated, "OLD-7")
    # Changed in the package: a line's amount edited by hand in Xero.
    edited = xero.invoices[document_of(changed_there, identifier)]
    edited["LineItems"][0]["LineAmount"] += 10
    edited["LineItems"][0]["UnitAmount"] += 10
    edited["Total"] += 10
    # Unknown: a document this app created that no transfer says it sent.
    send_outside_a_batch(never_sent, "LOST-1")
    # A copy someone made in Xero by hand is not the app's: not judged.
    xero.copy_by_hand(document_of(in_step, identifier))

    second = check(capture, finance)
    assert classes(second) == {
        missing.pk: "missing",
        duplicated.pk: "duplicated",
        changed_there.pk: "changed_in_package",
        never_sent.pk: "unknown",
    }
    assert second.counts["in_step"] == 1
    dup = second.differences.get(record_id=duplicated.pk)
    assert sorted(copy["batch"] for copy in dup.package) == sorted(["OLD-7", identifier])
    changed = second.differences.get(record_id=changed_there.pk)
    assert changed.package[0]["lines"] != changed.psa["sent"]["lines"]
    # The books check pages through what Xero holds, reading only this app's documents.
    reads = [q for m, p, q in xero.requests if m == "GET" and p.endswith("/Invoices")]
    assert reads and all(
        q.get("createdByMyApp", "").lower() == "true" and "page" in q for q in reads
    )

    with capture(execute=True):
        for record in (duplicated, missing):
            accounting.difference_fix(
                actor=finance, difference_id=second.differences.get(record_id=record.pk).pk
            )
    assert xero.invoices[document_of(duplicated, "OLD-7")]["Status"] == "VOIDED"
    third = check(capture, finance)
    assert classes(third) == {
        changed_there.pk: "changed_in_package",
        never_sent.pk: "unknown",
    }
    assert third.counts["in_step"] == 3
    numbers = [i["InvoiceNumber"] for i in xero.live() if i["InvoiceID"] not in xero.by_hand]
    assert len(numbers) == len(set(numbers)) == 5  # each record once, the unknown one too


def test_payments_entered_in_xero_come_back_to_the_right_invoices(
    xero, finance, make_invoice, django_capture_on_commit_callbacks
):
    paid, partly, unpaid = make_invoice(), make_invoice(), make_invoice()
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": i.pk} for i in (paid, partly, unpaid)],
    )
    identifier = batch.batch_identifier
    xero.pay(document_of(paid, identifier), float(paid.total), date(2026, 11, 10))
    xero.pay(document_of(partly, identifier), 500.0, date(2026, 11, 12))
    xero.pay(document_of(partly, identifier), 100.0, date(2026, 11, 15))

    assert accounting.payments_refresh(actor=finance) == {
        "paid_records": 2,
        "cleared": 0,
        "status_set": 0,
    }

    now = {i.pk: invoice_selectors.invoice_get(invoice_id=i.pk) for i in (paid, partly, unpaid)}
    assert now[paid.pk].payment_state == "paid" and now[paid.pk].balance_due == 0
    assert str(now[paid.pk].last_paid_on) == "2026-11-10"
    assert now[partly.pk].payment_state == "partly_paid"
    assert now[partly.pk].paid == Decimal("600.00")
    assert str(now[partly.pk].last_paid_on) == "2026-11-15"
    assert now[unpaid.pk].payment_state == "unpaid"
    # A paid document is still the one sent: the books check finds it in step.
    assert xero.invoices[document_of(paid, identifier)]["Status"] == "PAID"
    run = check(django_capture_on_commit_callbacks, finance)
    assert run.counts["in_step"] == 3 and run.differences_count == 0
