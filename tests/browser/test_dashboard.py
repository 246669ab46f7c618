"""The Finance dashboard in Chromium: both charts drawn from the page's data (no
Content-Security-Policy violation), their numbers as tables, and its links."""

import pytest
from playwright.sync_api import Page, expect

from accounting import services as accounting
from tests.browser.steps import nav, sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The pixels a Chart.js canvas holds that are not blank: a drawn chart has many.
INKED = """
(id) => {
  const canvas = document.getElementById(id);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
  return inked;
}
"""


def test_the_dashboard_draws_its_charts_and_tables(
    page: Page, finance, make_invoice, make_expense, shot
):
    invoices = [make_invoice() for _ in range(3)]
    make_expense()
    accounting.batch_create(
        actor=finance,
        items=[{"type": "invoice", "id": invoice.pk} for invoice in invoices[:2]],
        batch_identifier="GL-NOV-30",
        transfer="file",
    )
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=invoices[1].pk)
    sign_in(page, finance.username)
    page.locator("#dashboard-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Finance dashboard")
    expect(page.locator("html")).to_have_attribute("data-charts", "drawn")
    for chart in ("chart-unposted", "chart-per-day"):
        assert page.locator(f"#{chart}").is_visible()
        assert page.evaluate(INKED, chart) > 500
    # The numbers as a table: two unposted invoices (one unbatched), one expense.
    table = page.locator("#unposted-table")
    expect(table.get_by_role("row", name="Invoices")).to_contain_text("2")
    expect(table.get_by_role("row", name="Expenses")).to_contain_text("1")
    page.get_by_text("Days with batches, as a table").click()
    expect(page.locator("#per-day-table tbody tr")).to_have_count(1)
    shot("dashboard")
    # The unbatched invoice links to itself and to the batch it came from.
    unbatched = page.locator("#unbatched-records")
    unbatched.get_by_role("link", name="GL-NOV-30").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("GL-NOV-30")
    nav(page, "Dashboard")
    expect(page.get_by_role("link", name="Dashboard")).to_have_attribute("aria-current", "page")
