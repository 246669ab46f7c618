"""A record's page as a clerk reads it: the audit trail in labels and names, the batch
in the banner one click away, and the favicon in the tab."""

import pytest
from playwright.sync_api import Page, expect

from accounting import services as accounting
from tests.browser.steps import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_audit_trail_reads_in_labels_and_the_banner_links_the_batch(
    page: Page, finance, make_expense, shot
):
    entry = make_expense()
    batch = accounting.batch_create(
        actor=finance, items=[{"type": "expense", "id": entry.pk}], transfer="file"
    )
    sign_in(page, finance.username)
    icon = page.request.get(page.locator('link[rel="icon"]').get_attribute("href"))
    assert icon.ok and icon.headers["content-type"].startswith("image/svg")
    page.goto(f"/time-expense/entries/{entry.pk}/")
    trail = page.locator("#audit-trail")
    expect(trail).to_contain_text("expense type Travel (TRAVEL)")
    expect(trail).to_contain_text("approved No → Yes")
    expect(trail).not_to_contain_text("False")
    expect(trail).not_to_contain_text("True")
    shot("entry-audit-trail-labels")
    page.locator("#record-state").get_by_role("link", name=batch.batch_identifier).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(batch.batch_identifier)


def test_received_on_shows_its_date_as_the_pages_write_dates(
    page: Page, finance, make_purchase_order, shot
):
    _po, line = make_purchase_order(received=False, closed=False)
    sign_in(page, finance.username)
    page.goto(f"/procurement/products/{line.pk}/")
    received_on = page.get_by_label("Received on")
    today = received_on.input_value()
    assert today  # filled in, never assumed behind the clerk's back
    echo = page.locator("[data-date-echo]").first
    year, _month, day = today.split("-")
    expect(echo).to_contain_text(f"{int(day)} ")
    expect(echo).to_contain_text(year)
    received_on.fill("2026-11-04")
    expect(echo).to_have_text("4 Nov 2026")
    shot("line-received-on")
    page.get_by_role("button", name="Receive").click()
    expect(page.locator("#messages")).to_contain_text(f"Product {line.pk} received")
    line.refresh_from_db()
    assert line.received and line.received_date.isoformat() == "2026-11-04"
