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
