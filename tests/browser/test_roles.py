"""Each role's home and menu: nothing offered that answers 403, the Approver's home is
the queue of submitted sheets, and a disabled button stays readable."""

import pytest
from playwright.sync_api import Page, expect

from expenses import services as expense_services
from tests.browser.steps import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def menu_links(page: Page) -> list[str]:
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    return [links.nth(i).get_attribute("href") for i in range(links.count())]


def every_link_opens(page: Page, hrefs: list[str]) -> None:
    for href in hrefs:
        response = page.goto(href)
        assert response.status == 200, f"{href} answers {response.status}"


def contrast(foreground: str, background: str) -> float:
    def luminance(css: str) -> float:
        red, green, blue = (int(part) / 255 for part in css[css.index("(") + 1 : -1].split(",")[:3])
        linear = [
            c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_staff_menu_offers_only_what_staff_may_open(page: Page, staff, make_sheet, shot):
    make_sheet()
    sign_in(page, staff.username)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).not_to_contain_text("Finance")
    expect(nav).not_to_contain_text("Purchase Orders")
    expect(nav.get_by_role("link", name="Expense Entry Search")).to_be_visible()
    shot("role-staff-home")
    every_link_opens(page, menu_links(page))


def test_approver_home_is_the_queue_of_submitted_sheets(
    page: Page, approver, staff, make_sheet, shot
):
    waiting = make_sheet(entries=2)
    expense_services.expense_sheet_submit(actor=staff, sheet=waiting)
    still_open = make_sheet()  # not in the queue
    sign_in(page, approver.username)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).not_to_contain_text("Finance")
    expect(nav).not_to_contain_text("Purchase Orders")
    queue = page.locator("#sheets-to-approve")
    expect(queue.locator("tbody tr")).to_have_count(1)
    expect(queue).to_contain_text("85.00")  # two entries of 42.50
    shot("role-approver-home")
    every_link_opens(page, menu_links(page))

    # From the queue to the sheet, and Approve.
    page.goto("/")
    queue.get_by_role("link", name=f"Sheet {waiting.pk}").click()
    page.locator("#sheet-approve").click()
    expect(page.locator(".message-success")).to_be_visible()
    page.goto("/")
    expect(queue).to_contain_text("No sheet waits for approval")

    # A sheet still open: its Submit is disabled for the Approver, and readable.
    page.goto(f"/time-expense/sheets/{still_open.pk}/")
    submit = page.locator("#sheet-submit")
    expect(submit).to_be_disabled()
    style = submit.evaluate(
        "b => { const s = getComputedStyle(b); return [s.color, s.backgroundColor, s.opacity]; }"
    )
    color, background, opacity = style
    assert float(opacity) == 1.0, f"the disabled button is faded (opacity {opacity})"
    assert contrast(color, background) >= 4.5, style
    shot("role-approver-disabled-submit")
