"""Where docs/cw-api.md names a field but not its values or shape, the finance API sends
what ConnectWise sends (its generated models): GL type codes, references of
`{id, name}`, billing terms and tax codes as references, empty export settings, a
purchase transaction's text id, ConnectWise's package codes and invoice and expense
formats."""

from accounting.models import AccountingSetup, Package
from expenses.models import ExpenseEntry
from tests.cwapi import cw_models as m
from tests.cwapi.conftest import ACCOUNTING

SETUP = "/apis/3.0/finance/accountingPackageSetup"


def _export(tool, **body):
    response = tool.post(ACCOUNTING + "export", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_an_expense_carries_connectwise_gl_type_code(tool, make_expense, book):
    internal = make_expense()
    charged = make_expense()
    ExpenseEntry.objects.filter(pk=charged.pk).update(company=book["client"])

    rows = tool.get(ACCOUNTING + "unpostedexpenses", {"orderBy": "id"}).json()
    m.parse(m.UnpostedExpense, rows, many=True)
    # Expense Internal for the company's own expense, Expense External for one charged
    # to a customer.
    assert [(row["id"], row["glType"]) for row in rows] == [
        (internal.pk, "EI"),
        (charged.pk, "EE"),
    ]
    export = _export(tool, includedExpenseIds=[internal.pk, charged.pk])
    m.parse(m.GLExport, export)
    assert [(e["id"], e["glTypeId"]) for e in export["expenses"]] == [
        (internal.pk, "EI"),
        (charged.pk, "EE"),
    ]


def test_tax_code_expense_type_and_purchase_order_references_carry_a_name(
    tool, make_invoice, make_expense, make_purchase_order, book
):
    invoice = make_invoice()
    make_expense()
    order, _ = make_purchase_order()
    tax = book["tax"]

    [row] = tool.get(ACCOUNTING + "unpostedinvoices").json()
    assert {k: v for k, v in row["taxCode"].items() if k != "_info"} == {
        "id": tax.pk,
        "name": tax.name,
    }
    [expense] = tool.get(ACCOUNTING + "unpostedexpenses").json()
    assert "identifier" not in expense["expenseType"]
    assert expense["expenseType"]["name"] == book["travel"].name
    procurement = tool.get(ACCOUNTING + "unpostedprocurement").json()
    assert {row["purchaseOrder"]["name"] for row in procurement} == {order.number}
    assert all("identifier" not in row["purchaseOrder"] for row in procurement)

    # conditions name the fields as the records carry them
    by_name = tool.get(
        ACCOUNTING + "unpostedinvoices/count", {"conditions": f'taxCode/name = "{tax.name}"'}
    )
    assert by_name.json() == {"count": 1} and invoice.tax_code_id == tax.pk
    by_order = tool.get(
        ACCOUNTING + "unpostedprocurement/count",
        {"conditions": f'purchaseOrder/name = "{order.number}"'},
    )
    assert by_order.json() == {"count": 2}
    by_type = tool.get(
        ACCOUNTING + "unpostedexpenses/count",
        {"conditions": f'expenseType/name = "{book["travel"].name}"'},
    )
    assert by_type.json() == {"count": 1}
    gone = tool.get(ACCOUNTING + "unpostedinvoices", {"conditions": 'taxCode/identifier = "x"'})
    assert gone.status_code == 400


def test_gl_export_billing_terms_and_tax_codes_are_references(
    tool, make_invoice, make_purchase_order, book
):
    invoice = make_invoice()
    make_purchase_order()
    tax = book["tax"]
    export = _export(tool, exportInvoicesFlag=True, exportProductsFlag=True)
    m.parse(m.GLExport, export)
    [customer] = export["customers"]
    assert customer["billingTerms"] is None and customer["billingTermsXref"] == "Net 30"
    assert (customer["taxCode"]["id"], customer["taxCode"]["name"]) == (tax.pk, tax.name)
    [transaction] = export["transactions"]
    assert transaction["id"] == invoice.pk and transaction["taxCode"]["id"] == tax.pk
    [vendor] = export["vendors"]
    assert vendor["billingTerms"] is None and vendor["taxCode"]["id"] == tax.pk
    # ConnectWise's export settings carry no fields
    assert export["exportSettings"] == {}


def test_a_purchase_transaction_is_shaped_as_connectwise_shapes_it(tool, make_purchase_order):
    order, line = make_purchase_order()
    export = _export(tool, exportProductsFlag=True)
    m.parse(m.GLExport, export)
    [purchase] = export["purchaseTransactions"]
    assert purchase["id"] == str(order.pk) and purchase["documentNumber"] == order.number
    assert "purchaseOrder" not in purchase
    [detail] = purchase["purchaseDetail"]
    assert detail["id"] == line.pk
    assert not {"unpostedProductId", "taxAmount", "glEntryIds"} & set(detail)
    assert purchase["total"] == 891.0 and purchase["freightAmount"] == 25.0


def test_a_freight_batch_entries_name_the_purchase_order(tool, make_purchase_order):
    order, _ = make_purchase_order()
    rows = tool.get(ACCOUNTING + "unpostedprocurement").json()
    freight = next(row for row in rows if row["freightCost"])
    export = _export(tool, includedProductIds=[freight["unpostedProductId"]])
    ids = [int(i) for i in export["purchaseTransactions"][0]["glEntryIds"].split(",")]
    created = tool.post(ACCOUNTING + "batches", {"processedRecordIds": ids}, format="json")
    assert created.status_code == 201, created.json()
    batch_id = tool.get(ACCOUNTING + "batches").json()[0]["id"]
    entries = tool.get(ACCOUNTING + f"batches/{batch_id}/entries").json()
    m.parse(m.BatchEntry, entries, many=True)
    assert {entry["purchaseOrder"]["name"] for entry in entries} == {order.number}


def test_setup_sends_connectwise_package_codes_and_formats(tool):
    setup = tool.get(SETUP + "/1").json()
    m.parse(m.AccountingPackageSetup, setup)
    assert setup["accountingPackage"]["identifier"] == "Other"
    assert (setup["invoiceFormat"], setup["expenseFormat"]) == ("Detailed", "Default")

    quickbooks = tool.patch(
        SETUP + "/1",
        [{"op": "replace", "path": "accountingPackage/identifier", "value": "QB99"}],
        format="json",
    )
    assert quickbooks.status_code == 200, quickbooks.json()
    assert m.parse(m.AccountingPackageSetup, quickbooks.json()).accountingPackage.name == (
        "QuickBooks Desktop"
    )
    assert AccountingSetup.objects.get().package == Package.QUICKBOOKS_DESKTOP

    # A package of the product that ConnectWise has no code for is "Other", by name; it
    # is chosen by its id or the product's identifier.
    packages = tool.get("/apis/3.0/finance/accountingPackages").json()
    xero = next(p for p in packages if p["identifier"] == "xero")
    chosen = tool.put(
        SETUP + "/1", {**setup, "accountingPackage": {"id": xero["id"]}}, format="json"
    )
    assert chosen.status_code == 200, chosen.json()
    package = chosen.json()["accountingPackage"]
    assert (package["id"], package["identifier"], package["name"]) == (xero["id"], "Other", "Xero")
    assert AccountingSetup.objects.get().package == Package.XERO


def test_setup_refuses_connectwise_values_the_product_does_not_have(tool):
    before = list(AccountingSetup.objects.values())
    for path, value, field in [
        ("invoiceFormat", "Condensed", "invoiceFormat"),
        ("expenseFormat", "Condensed", "expenseFormat"),
        ("invoiceFormat", "iif", "invoiceFormat"),
        ("accountingPackage/identifier", "GPlains", "accountingPackage"),
    ]:
        response = tool.patch(
            SETUP + "/1", [{"op": "replace", "path": path, "value": value}], format="json"
        )
        assert response.status_code == 400, (path, value)
        assert response.json()["errors"][0]["field"] == field
    assert list(AccountingSetup.objects.values()) == before
