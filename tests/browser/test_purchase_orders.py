"""The reference's Purchase Order Freight procedure, by clicking: a closed purchase
order is reopened, its freight edited and the order closed again while its products
stay received (so the tax code cannot change and its field is disabled)."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from accounting import services as accounting
from tests.browser.steps import more, nav

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_po_freight_procedure_by_clicking(signed_in: Page, finance, make_purchase_order, shot):
    page = signed_in
    order, _line = make_purchase_order()
    batch = accounting.batch_create(
        actor=finance, items=[{"type": "freight", "id": order.pk}], transfer="file"
    )
    identifier = batch.batch_identifier

    # 1. Procurement > Purchase Orders, select the PO number.
    nav(page, "Purchase Orders")
    page.get_by_role("link", name=order.number, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(order.number)
    expect(page.locator("#record-state")).to_contain_text(
        re.compile(f"in batch {identifier}", re.I)
    )
    shot("po-freight-locked")

    # 2. MORE > Unbatch.
    more(page, "Unbatch")
    expect(page.locator(".message-success")).to_contain_text(f"unbatched from {identifier}")
    # Closed: only the status may change; the freight fields show their values, disabled.
    expect(page.get_by_label("Freight amount")).to_be_disabled()
    expect(page.get_by_label("Freight amount")).to_have_value("25.00")
    shot("po-freight-unbatched")

    # 3. Set the purchase order to an open status and save.
    page.get_by_label("Status").select_option(label="Open")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_contain_text(f"Purchase order {order.number} saved")
    expect(page.locator(".badge-po-open")).to_be_visible()
    shot("po-freight-reopened")

    # 4. Edit the freight amount and save. The product is still received, so the tax
    # code cannot change: its field is disabled and keeps the order's tax code.
    expect(page.get_by_label("Tax code")).to_be_disabled()
    expect(page.get_by_label("Tax code")).to_have_value(str(order.tax_code_id))
    expect(page.locator(".hint")).to_contain_text("must be reopened and unreceived first")
    page.get_by_label("Freight amount").fill("40.00")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_contain_text(f"Purchase order {order.number} saved")
    expect(page.get_by_label("Freight amount")).to_have_value("40.00")
    shot("po-freight-edited")

    # 5. Set the purchase order to a closed status and save.
    page.get_by_label("Status").select_option(label="Closed")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_contain_text(f"Purchase order {order.number} saved")
    expect(page.locator(".badge-po-closed")).to_be_visible()

    # 6. MORE > Rebatch: back into the original batch, nothing sent.
    more(page, "Rebatch")
    expect(page.locator(".message-success")).to_contain_text("Nothing was sent")
    expect(page.locator("#record-state")).to_contain_text(
        re.compile(f"in batch {identifier}", re.I)
    )
    shot("po-freight-rebatched")

    order.refresh_from_db()
    assert order.freight_amount == Decimal("40.00")
    assert order.tax_code_id is not None
    assert order.status == "closed" and order.freight_gl_batch_id == batch.pk
