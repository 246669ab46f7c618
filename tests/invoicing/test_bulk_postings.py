"""Invoices posted in bulk from plain rows carry exactly what one-by-one posting does,
fingerprints included: a transfer and the re-send guard must agree."""

from decimal import Decimal

import pytest

from accounting.gl import AccountBook
from invoicing.models import Invoice
from invoicing.postables import InvoiceKind


@pytest.mark.django_db
def test_bulk_postings_equal_one_by_one_postings(book, finance, make_invoice):
    from invoicing import services

    make_invoice()
    make_invoice(quantity="3", price="19.99")
    untaxed = make_invoice(closed=False)
    services.invoice_update(
        actor=finance,
        invoice=untaxed,
        tax_code=None,
        lines=[
            {"description": "Line one", "quantity": Decimal("1"), "unit_price": Decimal("5.00")},
            {
                "description": "Line two",
                "quantity": Decimal("2"),
                "unit_price": Decimal("7.50"),
                "gl_account": book["accounts"]["income"],
                "taxable": False,
            },
        ],
    )
    kind, account_book = InvoiceKind(), AccountBook()
    rows = Invoice.objects.all()

    bulk = list(kind.bulk_postings(rows, account_book, chunk_size=2))
    one_by_one = [kind.posting(invoice, account_book) for invoice in kind.queryset().order_by("pk")]

    assert bulk == one_by_one
    assert [p.fingerprint() for p in bulk] == [p.fingerprint() for p in one_by_one]
    assert {p.header.tax_code for p in bulk} == {"", book["tax"].code}
