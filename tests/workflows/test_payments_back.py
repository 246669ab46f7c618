"""Payments back from a real beancount ledger: payments posted to the receivable with
an invoice's link come back to that invoice (partly or fully paid, balance due); a
paid invoice's re-send through the connector is refused; the unbatch warns."""

from decimal import Decimal

import pytest

from accounting import services as accounting
from accounting.models import AccountingSetup, AuditEvent
from accounting.services import setup as setup_services
from invoicing import selectors as invoice_selectors
from tests.helpers import refused, send


@pytest.fixture
def ledger(ledger_root, db):
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": "books.beancount"}
    )
    return ledger_root / "books.beancount"


def receivable_account(text: str) -> str:
    for line in text.splitlines():
        if " open Assets:AccountsReceivable:" in line:
            return line.split()[2]
    raise AssertionError("no receivable account in the ledger")


def pay(ledger, invoice_id: int, amount: str, day: str) -> None:
    """A payment as a bookkeeper enters it: bank debited, receivable credited, with the
    invoice's link."""
    text = ledger.read_text()
    if "open Assets:Bank" not in text:
        text += "\n2000-01-01 open Assets:Bank USD\n"
    text += (
        f'\n{day} * "Client" "Payment received" ^psa-invoice-{invoice_id}\n'
        f"  Assets:Bank  {amount} USD\n"
        f"  {receivable_account(text)}  -{amount} USD\n"
    )
    ledger.write_text(text)


def test_partial_and_full_payments_come_back_to_the_right_invoices(
    ledger, finance, make_invoice, django_capture_on_commit_callbacks
):
    paid, partly, unpaid = make_invoice(), make_invoice(), make_invoice()
    send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": i.pk} for i in (paid, partly, unpaid)],
    )
    pay(ledger, paid.pk, str(paid.total), "2026-11-10")
    pay(ledger, partly.pk, "500.00", "2026-11-12")
    pay(ledger, partly.pk, "100.00", "2026-11-15")

    counts = accounting.payments_refresh(actor=finance)
    assert counts == {"paid_records": 2, "cleared": 0, "status_set": 0}
    assert AuditEvent.objects.filter(action="payments_refreshed", actor=finance).exists()

    now = {i.pk: invoice_selectors.invoice_get(invoice_id=i.pk) for i in (paid, partly, unpaid)}
    assert now[paid.pk].payment_state == "paid" and now[paid.pk].balance_due == 0
    assert str(now[paid.pk].last_paid_on) == "2026-11-10"
    assert now[partly.pk].payment_state == "partly_paid"
    assert now[partly.pk].paid == Decimal("600.00")
    assert now[partly.pk].balance_due == partly.total - Decimal("600.00")
    assert str(now[partly.pk].last_paid_on) == "2026-11-15"
    assert now[unpaid.pk].payment_state == "unpaid" and now[unpaid.pk].balance_due == unpaid.total

    def search(state):
        return sorted(i.pk for i in invoice_selectors.invoice_search(payment=state))

    assert search("paid") == [paid.pk]
    assert search("partly_paid") == [partly.pk]
    assert search("unpaid") == [unpaid.pk]

    # A payment removed from the package goes back to unpaid at the next refresh.
    text = ledger.read_text()
    ledger.write_text(text[: text.index("\n2026-11-12 *")] + "\n")
    assert accounting.payments_refresh(actor=finance) == {
        "paid_records": 1,
        "cleared": 1,
        "status_set": 0,
    }
    assert invoice_selectors.invoice_get(invoice_id=partly.pk).payment_state == "unpaid"


def test_a_fully_paid_invoice_moves_to_the_status_setup_names_and_stays_as_sent(
    ledger, finance, make_invoice, django_capture_on_commit_callbacks
):
    from accounting.models import TransferLog
    from invoicing.models import InvoiceStatus

    paid_status = InvoiceStatus.objects.create(name="Paid", is_closed=True, sort_order=9)
    with refused("validation_error") as refusal:
        setup_services.accounting_setup_update(actor=finance, paid_invoice_status="New")
    assert "New is an open status" in refusal.value.extra["fields"]["paid_invoice_status"][0]
    with refused("validation_error"):
        setup_services.accounting_setup_update(actor=finance, paid_invoice_status="Settled")
    paid, partly = make_invoice(), make_invoice()
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": i.pk} for i in (paid, partly)],
    )
    pay(ledger, paid.pk, str(paid.total), "2026-11-10")
    pay(ledger, partly.pk, "500.00", "2026-11-12")

    # Empty: payments change no status.
    assert accounting.payments_refresh(actor=finance)["status_set"] == 0
    paid.refresh_from_db()
    assert paid.status.name == "Closed"

    setup_services.accounting_setup_update(actor=finance, paid_invoice_status="paid")
    assert AccountingSetup.objects.get().paid_invoice_status == "paid"
    ledger_before = ledger.read_text()
    assert accounting.payments_refresh(actor=finance)["status_set"] == 1
    paid.refresh_from_db()
    partly.refresh_from_db()
    assert paid.status == paid_status and paid.is_closed
    assert partly.status.name == "Closed"
    # Still in its batch, locked, and what was sent is what it is now.
    assert paid.gl_batch_id == batch.pk
    log = TransferLog.objects.get(batch=batch, record_id=paid.pk)
    from accounting.gl import AccountBook
    from accounting.postables import get_kind

    kind = get_kind("invoice")
    assert kind.posting(kind.queryset().get(pk=paid.pk), AccountBook()).matches(log.fingerprint)
    assert ledger.read_text() == ledger_before
    event = AuditEvent.objects.get(action="status_set_paid", record_id=paid.pk)
    assert event.actor == finance
    assert event.changes["status"] == {"before": "Closed", "after": "Paid"}
    from invoicing import services as invoice_services

    with refused("record_locked"):
        invoice_services.invoice_set_status(actor=finance, invoice=paid, status="Closed")
    # Already in the status: the next refresh moves nothing and audits nothing more.
    assert accounting.payments_refresh(actor=finance)["status_set"] == 0
    assert AuditEvent.objects.filter(action="status_set_paid").count() == 1


def test_a_paid_invoice_is_not_sent_again_through_the_connector(
    ledger, finance, make_invoice, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    send(django_capture_on_commit_callbacks, finance, [{"type": "invoice", "id": invoice.pk}])
    pay(ledger, invoice.pk, "100.00", "2026-11-10")
    accounting.payments_refresh(actor=finance)
    before = ledger.read_text()

    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=invoice.pk)
    with refused("record_paid") as refusal:
        accounting.batch_create(
            actor=finance, items=[{"type": "invoice", "id": invoice.pk}], confirm_resend=True
        )
    assert "INV" in refusal.value.message and "payment of 100.00" in refusal.value.message
    assert "void the paid document" in refusal.value.message
    assert refusal.value.extra["items"][0]["id"] == invoice.pk
    assert ledger.read_text() == before


def test_the_pages_show_payments_and_the_unbatch_warns(
    ledger, client, finance, make_invoice, django_capture_on_commit_callbacks
):
    partly, unpaid = make_invoice(), make_invoice()
    send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": i.pk} for i in (partly, unpaid)],
    )
    pay(ledger, partly.pk, "100.00", "2026-11-10")
    client.force_login(finance)
    client.post("/finance/books-check/payments/")

    page = client.get(f"/finance/invoices/{partly.pk}/").content.decode()
    assert 'data-payment-state="partly_paid"' in page
    assert f"data-balance-due>{partly.total - Decimal('100.00'):,}" in page
    listed = client.get("/finance/invoices/", {"payment": "partly_paid"}).content.decode()
    assert partly.number in listed and unpaid.number not in listed

    confirm = client.get(f"/records/invoice/{partly.pk}/unbatch/").content.decode()
    assert "holds a payment of 100.00" in confirm
    done = client.post(f"/records/invoice/{partly.pk}/unbatch/", follow=True).content.decode()
    assert "the payment must be re-applied there" in done


def test_the_api_unbatch_warns_that_the_payment_must_be_re_applied(
    ledger, finance, make_invoice, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    paid, unpaid = make_invoice(), make_invoice()
    send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": i.pk} for i in (paid, unpaid)],
    )
    pay(ledger, paid.pk, "100.00", "2026-11-10")
    accounting.payments_refresh(actor=finance)
    client = APIClient()
    client.force_authenticate(finance)

    response = client.post(f"/api/v1/invoices/{paid.pk}/unbatch/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["gl_batch"] is None and body["original_batch"] is not None
    assert body["warnings"] == [
        f"The accounting package holds a payment of 100.00 against Invoice {paid.number}: "
        "after a re-send the payment must be re-applied there."
    ]
    quiet = client.post(f"/api/v1/invoices/{unpaid.pk}/unbatch/")
    assert quiet.status_code == 200 and quiet.json()["warnings"] == []
