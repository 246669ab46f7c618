import pytest

from invoicing.selectors import invoice_get, invoice_list, invoice_status_list
from psa.errors import NotFound
from tests.factories import CompanyFactory, InvoiceFactory, closed_invoice, put_in_batch

pytestmark = pytest.mark.django_db


def test_invoice_list_filters_by_number_status_company_and_batch():
    company = CompanyFactory()
    new = InvoiceFactory(company=company)
    closed = closed_invoice()
    batch = put_in_batch(closed)

    assert list(invoice_list(filters={"number": new.number})) == [new]
    assert list(invoice_list(filters={"status": "closed"})) == [closed]
    assert list(invoice_list(filters={"company": company.pk})) == [new]
    assert list(invoice_list(filters={"gl_batch": batch.batch_identifier})) == [closed]
    assert list(invoice_list(filters={"batched": False})) == [new]


def test_invoice_list_reads_invoices_with_their_lines_in_a_fixed_number_of_queries(
    django_assert_num_queries,
):
    for _ in range(3):
        InvoiceFactory()
    with django_assert_num_queries(2):
        for invoice in invoice_list():
            _ = (invoice.company.name, invoice.status.name, invoice.gl_batch)
            _ = [line.gl_account for line in invoice.lines.all()]


def test_invoice_get_names_a_missing_invoice():
    with pytest.raises(NotFound):
        invoice_get(invoice_id=0)


def test_invoice_statuses_are_the_setup_table_in_order():
    assert [status.name for status in invoice_status_list()][:3] == ["New", "Sent", "Closed"]
