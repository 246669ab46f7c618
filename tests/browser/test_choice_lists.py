"""The record forms' choice lists, by clicking: each select offers every option once
(its list is read once per form) and the clerk's choice is what gets saved."""

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from invoicing.models import Invoice
from tests.browser.steps import open_invoice
from tests.factories import ExpenseTypeFactory, TaxCodeFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_an_invoice_tax_code_is_chosen_from_its_list_and_saved(
    signed_in: Page, make_invoice, book, shot
):
    page = signed_in
    invoice = make_invoice(closed=False)
    TaxCodeFactory(code="RED", name="Reduced rate", rate=Decimal("5.00"))

    open_invoice(page, invoice.number)
    tax_code = page.get_by_label("Tax code")
    expect(tax_code).to_be_enabled()
    expect(tax_code.locator("option")).to_have_text(["No tax", "RED (5%)", "ST (8.25%)"])
    expect(page.get_by_label("Status").locator("option", has_text="New (open)")).to_have_count(1)
    shot("choice-lists-invoice")

    tax_code.select_option(label="RED (5%)")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_contain_text("saved")
    expect(page.get_by_label("Tax code").locator("option:checked")).to_have_text("RED (5%)")
    shot("choice-lists-invoice-saved")
    assert Invoice.objects.get(pk=invoice.pk).tax_code.code == "RED"


def test_an_expense_entry_type_is_chosen_from_its_list_and_saved(
    signed_in: Page, make_expense, book, shot
):
    page = signed_in
    entry = make_expense(approved=False)
    ExpenseTypeFactory(code="MEALS", name="Meals", gl_account=book["accounts"]["expense"])

    page.goto(f"/time-expense/entries/{entry.pk}/")
    expense_type = page.get_by_label("Type")
    expect(expense_type.locator("option")).to_have_count(2)
    expect(expense_type.locator("option:checked")).to_contain_text("Travel")
    shot("choice-lists-expense-entry")

    expense_type.select_option(label="Meals")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_be_visible()
    expect(page.get_by_label("Type").locator("option:checked")).to_have_text("Meals")
    entry.refresh_from_db()
    assert entry.expense_type.code == "MEALS"
