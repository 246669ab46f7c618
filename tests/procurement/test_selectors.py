import pytest

from core.errors import NotFound
from procurement.selectors import (
    purchase_order_get,
    purchase_order_line_get,
    purchase_order_line_list,
)
from tests.factories import open_po, put_in_batch, received_product

pytestmark = pytest.mark.django_db


def test_product_line_list_filters_by_received_and_batch():
    received = received_product()
    batch = put_in_batch(received)
    unreceived = open_po().lines.get()

    assert list(purchase_order_line_list(filters={"received": False})) == [unreceived]
    assert list(purchase_order_line_list(filters={"gl_batch": batch.batch_identifier})) == [
        received
    ]
    assert list(
        purchase_order_line_list(filters={"purchase_order": received.purchase_order_id})
    ) == [received]


def test_procurement_get_names_a_missing_record():
    with pytest.raises(NotFound):
        purchase_order_get(purchase_order_id=0)
    with pytest.raises(NotFound):
        purchase_order_line_get(line_id=0)
