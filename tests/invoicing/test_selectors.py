import pytest

from core.errors import NotFound
from invoicing.selectors import invoice_get, invoice_status_list

pytestmark = pytest.mark.django_db


def test_invoice_get_names_a_missing_invoice():
    with pytest.raises(NotFound):
        invoice_get(invoice_id=0)


def test_invoice_statuses_are_the_setup_table_in_order():
    assert [status.name for status in invoice_status_list()][:3] == ["New", "Sent", "Closed"]
