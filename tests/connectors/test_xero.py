"""The Xero connector against a local server that plays Xero's Accounting API
(tests/connectors/xero_fake.py): every request it sends and every answer it reads is
checked against Xero's published OpenAPI description."""

import logging
from datetime import date
from decimal import Decimal

import pytest

from accounting.connectors import SentRecord, get_connector
from accounting.connectors.xero import XeroClient, XeroConnector
from accounting.exporters.xero_csv import XeroCSVExporter
from accounting.gl import Posting
from accounting.models import XeroConnection, XeroDocument
from accounting.secrets import encrypt
from core.errors import ApplicationError
from tests.connectors.xero_fake import ORGANISATION, parse_msdate
from tests.exporters import samples

pytestmark = pytest.mark.django_db

OPTIONS = {"xero_tax_types": {"TX": "EXEMPTOUTPUT"}}
ACCOUNTS = set(samples.ACCOUNTS)


@pytest.fixture
def connector(connection) -> XeroConnector:
    return get_connector("xero", OPTIONS)


def many(count: int) -> list[Posting]:
    """`count` records of every kind, each its own number and company."""
    postings = []
    for n in range(count):
        sample = samples.ALL_KINDS[n % 4]
        header = sample.header._replace(
            id=1000 + n,
            number=f"{sample.header.number}-{n}",
            reference=f"{sample.header.reference} #{n}",
            company=f"{sample.header.company} {n % 7}",
        )
        postings.append(Posting(header=header, lines=sample.lines))
    return postings


def csv_rows(postings: list[Posting]) -> list[dict]:
    """What the Xero CSV export writes for the postings (one layout at a time)."""
    import csv
    import io

    out = io.StringIO()
    XeroCSVExporter().write(postings, out, batch_identifier="B", options={})
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_documents_carry_what_the_xero_csv_export_writes(fake_xero, connector):
    answered = connector.send(samples.ALL_KINDS, batch_identifier="B-1")
    assert set(answered) == {(p.header.type, p.header.id) for p in samples.ALL_KINDS}
    assert connector.refusals == {}
    invoice = fake_xero.invoices[answered[("invoice", 42)]]
    assert invoice["Type"] == "ACCREC" and invoice["Status"] == "AUTHORISED"
    rows = csv_rows([samples.INVOICE])
    assert invoice["Contact"]["Name"] == rows[0]["ContactName"]
    assert invoice["InvoiceNumber"] == rows[0]["InvoiceNumber"]
    assert invoice["Reference"] == rows[0]["Reference"]
    assert parse_msdate(invoice["Date"]) == date(2026, 3, 1)
    assert parse_msdate(invoice["DueDate"]) == date(2026, 3, 31)
    assert [
        (line["Description"], f"{Decimal(str(line['UnitAmount'])):.2f}", line["AccountCode"])
        for line in invoice["LineItems"]
    ] == [
        # The CSV guards a cell a spreadsheet would take for a formula with a quote.
        (row["Description"].removeprefix("'"), row["UnitAmount"], row["AccountCode"])
        for row in rows
    ]
    assert {line["TaxType"] for line in invoice["LineItems"]} == {"EXEMPTOUTPUT"}
    assert invoice["Total"] == 1623.75  # the receivable the PSA posted
    bill = fake_xero.invoices[answered[("expense", 7)]]
    bill_rows = csv_rows([samples.EXPENSE])
    assert bill["Type"] == "ACCPAY" and bill["Reference"] == ""
    assert bill["InvoiceNumber"] == bill_rows[0]["InvoiceNumber"] == "EXP-7"
    assert {line["TaxType"] for line in bill["LineItems"]} == {"NONE"}  # no PSA tax code
    assert bill["Total"] == 84.50
    # Contacts are found or created by name, once each.
    names = sorted(c["Name"] for c in fake_xero.contacts.values())
    assert names == sorted({p.header.company for p in samples.ALL_KINDS})
    assert connector.find(record_type="invoice", record_id=42) == [
        SentRecord("invoice", 42, answered[("invoice", 42)])
    ]


def test_existing_contacts_are_used_and_sending_again_creates_nothing(fake_xero, connector):
    existing = fake_xero.add_contact("northwind supply")
    connector.send(samples.BILLS, batch_identifier="B-1")
    northwind = [i for i in fake_xero.live() if i["InvoiceNumber"].startswith("PO-")]
    assert {i["Contact"]["ContactID"] for i in northwind} == {existing}
    assert len(fake_xero.contacts) == 2  # Dana Smith was created
    before = dict(fake_xero.invoices)
    again = get_connector("xero", OPTIONS).send(samples.BILLS, batch_identifier="B-1")
    assert fake_xero.invoices == before
    assert set(again.values()) == set(before)


def test_several_hundred_documents_go_in_fifty_a_request_through_a_rate_limit(
    fake_xero, connector, caplog
):
    # Xero counts calls this process does not see (another process, another app):
    # its minute limit is hit in the middle of the batch.
    fake_xero.minute_limit, fake_xero.minute_seconds = 6, 8.0
    waits = []
    connector.on_wait = waits.append
    postings = many(420)
    with caplog.at_level(logging.DEBUG):
        answered = connector.send(postings, batch_identifier="BIG")
    assert len(answered) == 420 and connector.refusals == {}
    assert len(fake_xero.invoices) == 420
    assert len({i["InvoiceNumber"] for i in fake_xero.invoices.values()}) == 420
    creates = [q for m, p, q in fake_xero.requests if m == "PUT" and p.endswith("/Invoices")]
    assert len(creates) == 9  # 420 / 50, rounded up
    assert all(q.get("summarizeErrors", "").lower() == "false" for q in creates)
    assert fake_xero.rate_limited >= 1
    # The wait was reported (the batch shows as waiting), then its end.
    assert waits and waits[0] is not None and waits[-1] is None
    assert XeroDocument.objects.filter(batch_identifier="BIG").count() == 420
    assert fake_xero.client_secret not in caplog.text


def test_the_connector_keeps_to_the_calls_a_minute_itself(fake_xero, connector, settings):
    settings.XERO_CALLS_A_MINUTE, settings.XERO_MINUTE_SECONDS = 2, 3.0
    waits = []
    connector.on_wait = waits.append
    connector.send(many(120), batch_identifier="B")
    assert fake_xero.rate_limited == 0
    assert any(w is not None for w in waits) and waits[-1] is None
    assert len(fake_xero.live()) == 120


def test_a_document_xero_refuses_fails_that_record_with_xeros_words_and_the_rest_goes_in(
    fake_xero, connector
):
    postings = many(8)
    bad = postings[6]  # freight
    bad = Posting(
        header=bad.header,
        lines=tuple(
            line._replace(account_number="9999") if line.account_type == "freight" else line
            for line in bad.lines
        ),
    )
    postings[6] = bad
    answered = connector.send(postings, batch_identifier="B")
    assert len(answered) == 7 and (bad.header.type, bad.header.id) not in answered
    assert connector.refusals == {
        (bad.header.type, bad.header.id): "Xero refused it: Account code '9999' is not a "
        "valid code for this document."
    }
    assert len(fake_xero.live()) == 7


def test_a_retry_after_xeros_answer_was_lost_creates_nothing_twice(fake_xero, connector):
    postings = many(130)
    first = connector.send(postings, batch_identifier="B")
    # The process died after Xero created the documents and before their rows were
    # committed: nothing in the PSA says they are in Xero.
    XeroDocument.objects.filter(record_id__gte=1050).delete()
    again = get_connector("xero", OPTIONS).send(postings, batch_identifier="B")
    assert again == first
    assert len(fake_xero.invoices) == 130
    keys = [q for m, p, q in fake_xero.requests if m == "PUT" and p.endswith("/Invoices")]
    assert len(keys) == 5  # 3 the first time, 2 repeated (answered from the first result)


def test_a_re_send_voids_an_authorised_original_and_deletes_a_draft(fake_xero, connection):
    authorised = get_connector("xero", OPTIONS)
    first = authorised.send([samples.INVOICE], batch_identifier="B-1")
    drafts = get_connector("xero", {**OPTIONS, "xero_status": "DRAFT"})
    draft = drafts.send([samples.EXPENSE], batch_identifier="B-1")
    again = get_connector("xero", OPTIONS)
    removed = again.remove_sent([("invoice", 42, "B-1"), ("expense", 7, "B-1")])
    assert removed == 2 and again.refusals == {}
    assert fake_xero.invoices[first[("invoice", 42)]]["Status"] == "VOIDED"
    assert fake_xero.invoices[draft[("expense", 7)]]["Status"] == "DELETED"
    again.send([samples.INVOICE, samples.EXPENSE], batch_identifier="B-2")
    assert sorted(i["InvoiceNumber"] for i in fake_xero.live()) == ["EXP-7", "INV-1001"]
    assert [r.external_reference for r in again.find(record_type="invoice", record_id=42)] != [
        first[("invoice", 42)]
    ]
    assert XeroDocument.objects.get(invoice_id=first[("invoice", 42)]).removal == "voided"


def test_an_original_with_payments_is_not_voided_and_its_record_is_refused(fake_xero, connector):
    first = connector.send([samples.INVOICE, samples.FREIGHT], batch_identifier="B-1")
    fake_xero.pay(first[("invoice", 42)], 500.0)
    again = get_connector("xero", OPTIONS)
    assert again.remove_sent([("invoice", 42, "B-1"), ("freight", 3, "B-1")]) == 1
    assert fake_xero.invoices[first[("invoice", 42)]]["Status"] == "AUTHORISED"
    assert fake_xero.invoices[first[("freight", 3)]]["Status"] == "VOIDED"
    assert again.refusals == {
        ("invoice", 42): "Xero's INV-1001 has payments (500.00 paid), so it is not voided "
        "and the record is not sent again; remove the payments in Xero, then retry the "
        "transfer."
    }
    assert len(again.find(record_type="invoice", record_id=42)) == 1


def test_remove_and_remove_except_void_what_other_batches_left(fake_xero, connector):
    connector.send([samples.INVOICE], batch_identifier="OLD")
    connector.send([samples.EXPENSE], batch_identifier="OLD")
    removed = connector.remove_except([("invoice", 42), ("expense", 7)], keep_batch="NEW")
    assert sorted(r.record_type for r in removed) == ["expense", "invoice"]
    assert fake_xero.live() == []
    assert connector.remove(record_type="invoice", record_id=42) == 0


def test_test_connection_names_the_organisation(fake_xero, connector):
    assert connector.test_connection([])["found"] == {"organisation": ORGANISATION}
    assert XeroConnection.objects.get().tenant_id  # learnt from the connections


def test_a_wrong_client_secret_is_refused_in_the_products_words(fake_xero, connection, caplog):
    connection.client_secret = encrypt("not-the-secret")
    connection.save()
    with caplog.at_level(logging.DEBUG), pytest.raises(ApplicationError) as refused:
        get_connector("xero", OPTIONS).test_connection([])
    assert refused.value.code == "package_not_authorised"
    assert "not-the-secret" not in caplog.text and "not-the-secret" not in str(refused.value)


def test_secrets_are_stored_encrypted(fake_xero, connection):
    stored = XeroConnection.objects.values_list("client_secret", flat=True).get()
    assert fake_xero.client_secret not in stored
    assert XeroClient().oauth2.client_secret == fake_xero.client_secret


def test_a_limit_held_longer_than_the_longest_wait_stops_with_the_time_to_retry(
    fake_xero, connector
):
    fake_xero.day_limit = 0
    with pytest.raises(ApplicationError) as stopped:
        connector.send([samples.INVOICE], batch_identifier="B")
    assert stopped.value.code == "package_rate_limited"
    assert "Xero's day limit of calls is reached until" in stopped.value.message
    assert fake_xero.invoices == {}


def test_the_connect_command_stores_the_secret_encrypted_and_names_the_organisation(
    fake_xero, monkeypatch
):
    from io import StringIO

    from django.core.management import call_command

    monkeypatch.setenv("XERO_CLIENT_SECRET", fake_xero.client_secret)
    out = StringIO()
    call_command("xero_connect", client_id=fake_xero.client_id, stdout=out)
    assert out.getvalue().strip() == f"Connected to Xero: {ORGANISATION}"
    stored = XeroConnection.objects.get()
    assert fake_xero.client_secret not in stored.client_secret
    assert stored.organisation_name == ORGANISATION


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_batch_goes_to_xero_and_a_refused_record_fails_alone_until_corrected(
    fake_xero, connection, finance, make_invoice
):
    from accounting import services as accounting
    from accounting.models import AccountingSetup, TransferLog, TransferState

    AccountingSetup.objects.filter(pk=1).update(
        package="xero", direct_transfer=True, options=OPTIONS
    )
    invoices = [make_invoice() for _ in range(3)]
    fake_xero.accounts = set()  # Xero's chart has none of the PSA's account codes yet
    batch = accounting.batch_create(
        actor=finance, items=[{"type": "invoice", "id": invoice.pk} for invoice in invoices]
    )
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.FAILED
    assert batch.transfer_error.startswith("3 record(s) were not sent; the rest of the batch was.")
    assert "is not a valid code for this document" in batch.transfer_error
    assert fake_xero.live() == [] and not TransferLog.objects.filter(batch=batch).exists()

    fake_xero.accounts = None  # the codes were made in Xero
    accounting.batch_retry(actor=finance, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.DONE, batch.transfer_error
    logged = dict(
        TransferLog.objects.filter(batch=batch).values_list("record_id", "external_reference")
    )
    assert set(logged) == {invoice.pk for invoice in invoices}
    assert sorted(logged.values()) == sorted(i["InvoiceID"] for i in fake_xero.live())
    assert {i["Type"] for i in fake_xero.live()} == {"ACCREC"}


def test_a_running_transfer_held_by_a_limit_shows_as_waiting():
    from datetime import timedelta

    from django.utils import timezone

    from accounting.models import GLBatch, TransferState

    batch = GLBatch(transfer_state=TransferState.RUNNING)
    batch.transfer_waiting_until = timezone.now() + timedelta(seconds=30)
    assert batch.current_transfer_state == TransferState.WAITING
    assert batch.get_current_transfer_state_display() == "Waiting for the package's limit"
    batch.transfer_waiting_until = timezone.now() - timedelta(seconds=1)
    assert batch.current_transfer_state == TransferState.RUNNING


def test_the_books_check_pages_through_the_documents_this_app_created(
    fake_xero, connector, monkeypatch
):
    from accounting.connectors.xero import connector as xero_connector

    monkeypatch.setattr(xero_connector, "READ_PAGE", 3)
    postings = many(8)
    sent = connector.send(postings, batch_identifier="B")
    fake_xero.copy_by_hand(sent[(postings[0].header.type, postings[0].header.id)])
    fake_xero.invoices[sent[(postings[1].header.type, postings[1].header.id)]]["Status"] = "VOIDED"
    found = list(connector.find_sent())
    expected = sorted((p.header.type, p.header.id) for p in postings[:1] + postings[2:])
    assert [(s.record_type, s.record_id) for s in found] == expected
    assert {s.batch_identifier for s in found} == {"B"}
    pages = [q["page"] for m, p, q in fake_xero.requests if m == "GET" and "page" in q]
    assert pages == ["1", "2", "3"]  # 7 of the app's documents held, 3 a page
