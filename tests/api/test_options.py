"""OPTIONS tells the caller what the caller may do: its `Allow` header and its
`actions` name only the methods the caller's role allows."""

import pytest

pytestmark = pytest.mark.django_db


def allowed(response) -> set[str]:
    return {method.strip() for method in response["Allow"].split(",")}


def test_options_of_a_list_offer_post_only_to_a_role_that_may_create(api, staff, finance, book):
    as_staff = api(staff).options("/api/v1/companies/")
    assert as_staff.status_code == 200
    assert "POST" not in allowed(as_staff) and "GET" in allowed(as_staff)
    assert "POST" not in as_staff.json().get("actions", {})

    as_finance = api(finance).options("/api/v1/companies/")
    assert {"GET", "POST"} <= allowed(as_finance)
    assert "POST" in as_finance.json()["actions"]


def test_options_offer_nothing_a_role_cannot_read_or_write(api, staff, finance, book):
    as_staff = api(staff).options("/api/v1/invoices/")
    assert allowed(as_staff) == {"OPTIONS"}
    assert "actions" not in as_staff.json()
    assert {"GET", "POST"} <= allowed(api(finance).options("/api/v1/invoices/"))


def test_options_of_a_step_and_of_setup(api, staff, finance, book, make_invoice, send):
    batch = send([{"type": "invoice", "id": make_invoice().pk}])
    close = f"/api/v1/accounting/batches/{batch['id']}/close/"
    assert "POST" not in allowed(api(staff).options(close))
    assert "POST" in allowed(api(finance).options(close))

    assert allowed(api(staff).options("/api/v1/accounting/setup/")) == {"OPTIONS"}
    assert {"GET", "PATCH"} <= allowed(api(finance).options("/api/v1/accounting/setup/"))


def test_staff_may_create_their_own_expense_sheets_and_options_say_so(api, staff, book):
    response = api(staff).options("/api/v1/expense-sheets/")
    assert {"GET", "POST"} <= allowed(response)
    assert "POST" in response.json()["actions"]
