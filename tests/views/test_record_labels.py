"""Records easy to tell apart: amounts say whether tax is in, and a purchase order's
account choices offer only accounts of the type the record posts to."""

import re

import pytest
from django.urls import reverse

from accounting.models import GLAccountType

pytestmark = pytest.mark.django_db


def options(html, name):
    select = html.split(f'name="{name}"')[1].split("</select>")[0]
    return re.findall(r'<option value="(\d+)"', select)


def test_freight_offers_freight_accounts_and_products_inventory_accounts(
    finance_client, make_purchase_order, book
):
    po, line = make_purchase_order(received=False, closed=False)
    accounts = book["accounts"]
    html = finance_client.get(reverse("procurement:po_detail", args=[po.pk])).content.decode()
    assert options(html, "freight_gl_account") == [str(accounts["freight"].pk)]
    html = finance_client.get(reverse("procurement:line_detail", args=[line.pk])).content.decode()
    assert options(html, "gl_account") == [str(accounts["inventory"].pk)]


def test_an_account_of_another_type_is_refused_and_changes_nothing(
    finance_client, make_purchase_order, book
):
    po, _line = make_purchase_order(received=False, closed=False)
    response = finance_client.post(
        reverse("procurement:po_detail", args=[po.pk]),
        {
            "status": "open",
            "freight_amount": "30.00",
            "freight_gl_account": book["accounts"]["accounts_payable"].pk,
            "tax_code": book["tax"].pk,
        },
    )
    assert "freight_gl_account" in response.context["form"].errors
    po.refresh_from_db()
    assert po.freight_gl_account_id is None or (po.freight_gl_account.type == GLAccountType.FREIGHT)
    assert str(po.freight_amount) == "25.00"


def test_the_products_tab_and_the_interface_say_whether_tax_is_in(
    finance_client, make_purchase_order
):
    po, line = make_purchase_order()
    tab = finance_client.get(
        reverse("procurement:po_detail", args=[po.pk]), {"tab": "products"}
    ).content.decode()
    assert "Amount before tax (USD)" in tab and "Total with tax (USD)" in tab
    assert f"{line.amount:,.2f}" in tab and f"{line.total:,.2f}" in tab
    interface = finance_client.get(
        reverse("accounting:unposted", args=["product"])
    ).content.decode()
    assert "Total with tax (USD)" in interface
    assert (
        "Freight (no tax)"
        in finance_client.get(reverse("accounting:unposted", args=["freight"])).content.decode()
    )


def test_a_product_reads_with_its_description_and_its_po_once(
    finance_client, make_purchase_order, send
):
    po, line = make_purchase_order()
    title = f"Product {line.pk} Firewall appliance on {po.number}"
    tab = finance_client.get(reverse("accounting:unposted", args=["product"])).content.decode()
    assert f">{title}</a>" in tab
    assert f"on PO {po.number}" not in tab
    freight = finance_client.get(reverse("accounting:unposted", args=["freight"]))
    assert f">Freight on {po.number}</a>" in freight.content.decode()
    batch = send([{"type": "product", "id": line.pk}])
    page = finance_client.get(
        reverse("accounting:batch_detail", args=[batch.pk]), {"kind": "product"}
    ).content.decode()
    assert f">{title}</a>" in page


def test_the_products_tab_totals_every_product_of_the_order(
    finance_client, make_purchase_order, finance
):
    from procurement import services as po_services

    po, _line = make_purchase_order(closed=False)
    po_services.purchase_order_line_add(
        actor=finance, purchase_order=po, description="Switch", quantity=3, unit_cost="120.00"
    )
    lines = list(po.lines.order_by("pk"))
    assert len(lines) == 2
    response = finance_client.get(
        reverse("procurement:po_detail", args=[po.pk]), {"tab": "products"}
    )
    totals = response.content.decode().split('id="product-totals"')[1].split("</tr>")[0]
    assert "All 2 products" in totals
    assert f"{sum(x.amount for x in lines):,.2f}" in totals
    assert f"{sum(x.total for x in lines):,.2f}" in totals
