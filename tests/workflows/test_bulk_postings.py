"""Every kind posted in bulk from plain rows carries exactly what one-by-one posting
does, fingerprints included: transfers and the re-send guard must agree."""

from accounting.gl import AccountBook
from accounting.postables import kinds


def test_bulk_postings_equal_one_by_one_postings_for_every_kind(
    book, make_invoice, make_expense, make_purchase_order
):
    make_invoice()
    make_expense()
    make_expense(amount="7.10")
    make_purchase_order()
    make_purchase_order(freight="12.00")
    account_book = AccountBook()
    for kind in kinds():
        records = list(kind.queryset().order_by("pk"))
        assert records, kind.type
        bulk = list(kind.bulk_postings(kind.model.objects.all(), account_book, chunk_size=1))
        one_by_one = [kind.posting(record, account_book) for record in records]
        assert bulk == one_by_one, kind.type
        assert [p.fingerprint() for p in bulk] == [p.fingerprint() for p in one_by_one]
