"""Setup tables over HTTP: the accounting package setup (Direct Transfer, options kept
and restored), GL accounts, tax codes, expense types, companies, invoice statuses; and
the token endpoint."""

import pytest
from django.contrib.auth.models import User

from accounting.models import AccountingSetup, AuditEvent, DefaultGLAccount
from tests.helpers import PASSWORD

SETUP = "/api/v1/accounting/setup/"


def test_clearing_direct_transfer_keeps_the_options_for_one_click_restore(
    api, finance, book, ledger_root
):
    client = api(finance)
    options = {"ledger_path": "books/ledger.beancount", "currency": "EUR"}
    setup = client.patch(
        SETUP,
        {
            "package": "beancount",
            "direct_transfer": True,
            "options": options,
            "create_ledger": True,
        },
    ).json()
    assert (setup["package"], setup["direct_transfer"], setup["options"]) == (
        "beancount",
        True,
        options,
    )

    # The reference page's step 6: clear Direct Transfer for a one-off export file.
    setup = client.patch(SETUP, {"direct_transfer": False}).json()
    assert setup["options"] == {} and setup["saved_options"] == options
    # Step 12, in one action instead of from memory.
    response = client.post(f"{SETUP}restore-options/")
    assert response.status_code == 200
    assert response.json()["options"] == options and response.json()["saved_options"] == {}
    refusal = client.post(f"{SETUP}restore-options/")
    assert refusal.status_code == 409 and refusal.json()["code"] == "invalid_transition"

    events = AuditEvent.objects.filter(action="setup_changed").order_by("id")
    assert [set(event.changes) for event in events] == [
        {"package", "direct_transfer", "options"},
        {"direct_transfer", "options", "saved_options"},
        {"options", "saved_options"},
    ]
    assert all(event.actor_id == finance.pk for event in events)
    assert events[1].changes["saved_options"] == {"before": {}, "after": options}
    trail = client.get(f"{SETUP}audit/").json()
    assert [(e["action"], e["actor"]) for e in trail] == [("setup_changed", finance.pk)] * 3
    assert trail[2]["changes"]["options"] == {"before": {}, "after": options}


def test_direct_transfer_needs_a_package_with_a_connector(api, finance, book):
    client = api(finance)
    response = client.patch(SETUP, {"package": "quickbooks_online", "direct_transfer": True})
    assert response.status_code == 400 and "direct_transfer" in response.json()["fields"]
    response = client.patch(SETUP, {"package": "beancount", "direct_transfer": True})
    assert response.status_code == 400 and "options.ledger_path" in response.json()["fields"]
    assert not AccountingSetup.objects.get(pk=1).direct_transfer


def test_setup_names_the_default_account_of_each_type(api, finance, book):
    client = api(finance)
    account = client.post(
        "/api/v1/accounting/gl-accounts/",
        {"number": "4900", "name": "Other income", "type": "income"},
    ).json()
    setup = client.patch(
        SETUP, {"default_accounts": {"income": account["id"], "freight": None}}
    ).json()
    assert setup["default_accounts"]["income"] == account["id"]
    assert "freight" not in setup["default_accounts"]
    assert not DefaultGLAccount.objects.filter(type="freight").exists()
    response = client.patch(SETUP, {"default_accounts": {"bananas": account["id"]}})
    assert response.status_code == 400


def test_direct_transfer_into_a_beancount_ledger(api, finance, make_invoice, send, ledger_root):
    ledger = ledger_root / "ledger.beancount"
    response = api(finance).patch(
        SETUP,
        {
            "package": "beancount",
            "direct_transfer": True,
            "options": {"ledger_path": "ledger.beancount"},
            "create_ledger": True,
        },
    )
    assert response.status_code == 200, response.json()
    invoice = make_invoice()
    batch = send([{"type": "invoice", "id": invoice.pk}])
    assert batch["transfer"]["method"] == "direct" and batch["transfer"]["file_url"] is None
    assert invoice.number in ledger.read_text()
    file_response = api(finance).get(f"/api/v1/accounting/batches/{batch['id']}/file/")
    assert file_response.status_code == 404


def test_a_batch_may_choose_a_file_without_touching_the_setup(
    api, finance, make_invoice, send, ledger_root
):
    response = api(finance).patch(
        SETUP,
        {
            "package": "beancount",
            "direct_transfer": True,
            "options": {"ledger_path": "ledger.beancount"},
            "create_ledger": True,
            "export_format": "iif",
        },
    )
    assert response.status_code == 200, response.json()
    batch = send([{"type": "invoice", "id": make_invoice().pk}], transfer="file")
    assert batch["transfer"]["method"] == "file" and batch["export_format"] == "iif"
    download = api(finance).get(batch["transfer"]["file_url"])
    assert download.status_code == 200 and download["Content-Type"].startswith("text/plain")
    assert b"".join(download.streaming_content).startswith(b"!")


def test_reference_data_is_created_and_listed(api, finance, book):
    client = api(finance)
    company = client.post(
        "/api/v1/companies/",
        {"identifier": "BETA", "name": "Beta LLC", "is_client": False, "is_vendor": True},
    )
    assert company.status_code == 201 and company.json()["is_vendor"]
    vendors = client.get("/api/v1/companies/", {"is_vendor": "true"}).json()["results"]
    assert {c["identifier"] for c in vendors} == {"DIST", "BETA"}

    account = client.post(
        "/api/v1/accounting/gl-accounts/", {"number": "6200", "name": "Meals", "type": "expense"}
    ).json()
    tax = client.post(
        "/api/v1/accounting/tax-codes/",
        {"code": "CITY", "name": "City tax", "rate": "1.125", "gl_account": account["id"]},
    )
    assert tax.status_code == 201 and tax.json()["rate"] == "1.125"
    assert client.get(f"/api/v1/accounting/tax-codes/{book['tax'].pk}/").json()["rate"] == "8.25"
    too_high = client.post(
        "/api/v1/accounting/tax-codes/",
        {"code": "BIG", "name": "Too much", "rate": "101", "gl_account": account["id"]},
    )
    assert too_high.status_code == 400 and "rate" in too_high.json()["fields"]
    kind = client.post(
        "/api/v1/expense-types/", {"code": "MEALS", "name": "Meals", "gl_account": account["id"]}
    )
    assert kind.status_code == 201
    bad_type = client.post(
        "/api/v1/accounting/gl-accounts/", {"number": "1", "name": "x", "type": "asset"}
    )
    assert bad_type.status_code == 400 and "type" in bad_type.json()["fields"]
    expense_accounts = client.get("/api/v1/accounting/gl-accounts/", {"type": "expense"}).json()
    assert {a["number"] for a in expense_accounts["results"]} == {
        book["accounts"]["expense"].number,
        "6200",
    }

    statuses = client.get("/api/v1/invoice-statuses/", {"ordering": "name"}).json()["results"]
    assert [(s["name"], s["is_closed"]) for s in statuses] == [
        ("Closed", True),
        ("New", False),
        ("Sent", False),
    ]


def test_staff_read_the_reference_data_their_expenses_need(api, staff, book):
    client = api(staff)
    assert client.get("/api/v1/expense-types/").status_code == 200
    assert client.get("/api/v1/companies/").status_code == 200
    assert client.get("/api/v1/accounting/gl-accounts/").status_code == 403
    assert client.get("/api/v1/invoices/").status_code == 403


# --- the token endpoint and session auth -------------------------------------------------------


def test_a_token_for_a_username_and_password(api, finance):
    response = api().post("/api/v1/auth/token/", {"username": "fiona", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/accounting/batches/").status_code == 200
    # Each call issues a new token; the earlier one stays valid.
    again = api().post("/api/v1/auth/token/", {"username": "fiona", "password": PASSWORD})
    assert again.json()["token"] != token
    assert client.get("/api/v1/accounting/batches/").status_code == 200


@pytest.mark.parametrize(
    "body", [{"username": "fiona", "password": "wrong"}, {"username": "fiona"}, {}]
)
def test_bad_credentials_get_no_token(api, finance, body):
    response = api().post("/api/v1/auth/token/", body)
    assert response.status_code == 400 and response.json()["code"] == "validation_error"


def test_browser_sessions_work_too(api, finance):
    client = api()
    client.force_login(finance)
    assert client.get("/api/v1/accounting/batches/").status_code == 200
    # Unsafe methods of a session need the CSRF token, as in the browser.
    client.handler.enforce_csrf_checks = True
    refusal = client.post("/api/v1/accounting/batches/", {"all_unposted": True})
    assert refusal.status_code == 403 and "CSRF" in refusal.json()["detail"]


def test_an_inactive_user_is_refused(api, finance):
    token_client = api(finance)
    User.objects.filter(pk=finance.pk).update(is_active=False)
    response = token_client.get("/api/v1/accounting/batches/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_setup_names_a_closed_status_for_fully_paid_invoices(api, finance, book):
    client = api(finance)
    assert client.get("/api/v1/accounting/setup/").json()["paid_invoice_status"] == ""
    refused = client.patch("/api/v1/accounting/setup/", {"paid_invoice_status": "New"})
    assert refused.status_code == 400
    assert "open status" in refused.json()["fields"]["paid_invoice_status"][0]
    set_ = client.patch("/api/v1/accounting/setup/", {"paid_invoice_status": "Closed"})
    assert set_.status_code == 200 and set_.json()["paid_invoice_status"] == "Closed"
    cleared = client.patch("/api/v1/accounting/setup/", {"paid_invoice_status": ""})
    assert cleared.json()["paid_invoice_status"] == ""
