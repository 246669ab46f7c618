import pytest

from procurement.selectors import (
    purchase_order_get,
    purchase_order_line_get,
    purchase_order_line_list,
    purchase_order_list,
)
from psa.errors import NotFound
from tests.factories import closed_po_with_freight, open_po, put_in_batch, received_product

pytestmark = pytest.mark.django_db


def test_purchase_order_list_filters_by_number_status_vendor_and_freight_batch():
    open_order = open_po()
    closed_order = closed_po_with_freight()
    batch = put_in_batch(closed_order, field="freight_gl_batch")

    assert list(purchase_order_list(filters={"number": open_order.number})) == [open_order]
    assert list(purchase_order_list(filters={"status": "closed"})) == [closed_order]
    assert list(purchase_order_list(filters={"vendor": open_order.vendor_id})) == [open_order]
    assert list(purchase_order_list(filters={"freight_gl_batch": batch.batch_identifier})) == [
        closed_order
    ]


def test_purchase_order_list_prefetches_lines_in_a_fixed_number_of_queries(
    django_assert_num_queries,
):
    for _ in range(3):
        open_po()
    with django_assert_num_queries(2):
        for purchase_order in purchase_order_list():
            _ = (purchase_order.vendor.name, purchase_order.freight_gl_batch)
            _ = [(line.gl_batch, line.original_batch) for line in purchase_order.lines.all()]


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
