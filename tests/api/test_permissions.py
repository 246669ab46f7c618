"""The permission matrix: every mutating endpoint x (anonymous, Staff, Approver, Finance).

Anonymous callers get 401, a role that may not take the step 403, and a role that may
the step's own success status. Each case starts from records in the state the step
needs, so an allowed role really succeeds.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounting import services as accounting
from accounting.models import AccountingSetup, GLBatch, Reconciliation, TransferState
from expenses import services as expense_services
from procurement import services as po_services
from tests.helpers import DAY, make_user

ANONYMOUS, STAFF, APPROVER, FINANCE = "anonymous", "staff", "approver", "finance"


@dataclass
class World:
    """Makes, on demand, records in the state a step needs."""

    request: Any

    def fixture(self, name: str) -> Any:
        return self.request.getfixturevalue(name)

    @property
    def book(self) -> dict:
        return self.fixture("book")

    def finance(self):
        return self.fixture("finance")

    def batch(self, items: list[dict], *, transferred: bool = False) -> GLBatch:
        if not transferred:
            return accounting.batch_create(actor=self.finance(), items=items)
        with self.fixture("django_capture_on_commit_callbacks")(execute=True):
            batch = accounting.batch_create(actor=self.finance(), items=items)
        batch.refresh_from_db()
        assert batch.transfer_state == TransferState.DONE, batch.transfer_error
        return batch

    def invoice(self, **kwargs: Any):
        return self.fixture("make_invoice")(**kwargs)

    def batched_invoice(self):
        invoice = self.invoice()
        self.batch([{"type": "invoice", "id": invoice.pk}])
        return invoice

    def unbatched_invoice(self):
        invoice = self.batched_invoice()
        accounting.record_unbatch(actor=self.finance(), record_type="invoice", record_id=invoice.pk)
        return invoice

    def sheet(self, state: str = "open"):
        staff, approver = self.fixture("staff"), self.fixture("approver")
        sheet = self.fixture("make_sheet")()
        if state in {"submitted", "approved"}:
            expense_services.expense_sheet_submit(actor=staff, sheet=sheet)
        if state == "approved":
            expense_services.expense_sheet_approve(actor=approver, sheet=sheet)
        return sheet

    def batched_expense(self):
        entry = self.sheet("approved").entries.get()
        self.batch([{"type": "expense", "id": entry.pk}])
        return entry

    def unbatched_expense(self):
        entry = self.batched_expense()
        accounting.record_unbatch(actor=self.finance(), record_type="expense", record_id=entry.pk)
        return entry

    def order(self, **kwargs: Any):
        return self.fixture("make_purchase_order")(**kwargs)

    def batched_order(self):
        order, line = self.order()
        self.batch([{"type": "freight", "id": order.pk}, {"type": "product", "id": line.pk}])
        return order, line

    def unbatched(self, record_type: str):
        order, line = self.batched_order()
        record_id = order.pk if record_type == "freight" else line.pk
        accounting.record_unbatch(
            actor=self.finance(), record_type=record_type, record_id=record_id
        )
        return order, line

    def changed_since_sent(self, record_type: str):
        """A record of the kind sent in an export file, then unbatched, fixed by the
        reference page's steps and rebatched: the package holds the values sent."""
        from tests.workflows.test_fix_up_procedures import FIXES

        kind = next(fix for fix in FIXES if fix.type == record_type)
        fix = kind(
            make_invoice=self.fixture("make_invoice"),
            make_expense=self.fixture("make_expense"),
            make_purchase_order=self.fixture("make_purchase_order"),
            finance=self.finance(),
            staff=self.fixture("staff"),
            approver=self.fixture("approver"),
        )
        record_id = fix.record.pk
        self.batch([{"type": record_type, "id": record_id}], transferred=True)
        finance = self.finance()
        accounting.record_unbatch(actor=finance, record_type=record_type, record_id=record_id)
        fix.fix()
        accounting.record_rebatch(actor=finance, record_type=record_type, record_id=record_id)
        return record_id

    def received_open_line(self):
        _, line = self.order(closed=False)
        return po_services.purchase_order_line_update(actor=self.finance(), line=line, closed=False)

    def deleted_batch(self) -> GLBatch:
        invoice = self.invoice()
        batch = self.batch([{"type": "invoice", "id": invoice.pk}], transferred=True)
        accounting.batch_delete(actor=self.finance(), batch_id=batch.pk)
        return batch

    def failed_batch(self) -> GLBatch:
        invoice = self.invoice()
        batch = self.batch([{"type": "invoice", "id": invoice.pk}])
        GLBatch.objects.filter(pk=batch.pk).update(
            transfer_state=TransferState.FAILED, transfer_error="The package was offline."
        )
        return batch


@dataclass(frozen=True)
class Step:
    method: str
    template: str  # the schema's path
    prepare: Callable[[World], tuple[Any, dict]]  # -> (id for {id}, body)
    allowed: dict[str, int]  # role -> status; roles left out get 403
    format: str = "json"  # how the body is sent (a file: multipart)

    def expected(self, role: str) -> int:
        if role == ANONYMOUS:
            return 401
        return self.allowed.get(role, 403)


EVERY_ROLE = {STAFF: 0, APPROVER: 0, FINANCE: 0}


def only_finance(code: int) -> dict[str, int]:
    return {FINANCE: code}


def every_role(code: int) -> dict[str, int]:
    return dict.fromkeys(EVERY_ROLE, code)


def invoice_body(world: World) -> dict:
    return {
        "company": world.book["client"].pk,
        "date": DAY.isoformat(),
        "lines": [{"description": "Support", "quantity": "1", "unit_price": "100.00"}],
    }


def entry_body(world: World, sheet_id: int) -> dict:
    return {
        "sheet": sheet_id,
        "date": DAY.isoformat(),
        "expense_type": world.book["travel"].pk,
        "amount": "12.00",
        "description": "Parking",
    }


def with_connector(world: World) -> tuple[None, dict]:
    """A setup that transfers through the beancount connector (the run stays queued)."""
    world.book  # noqa: B018 - the book sets the setup up
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": "books.beancount"}
    )
    return None, {}


def uploaded_export(world: World) -> tuple[None, dict]:
    """A GL journal CSV of one line the package exported (the run stays queued)."""
    world.book  # noqa: B018 - the book sets the setup up
    content = (
        b"batch,record_type,reference,date,account_number,account_name,debit,credit,memo\r\n"
        b"GL-1,invoice,Invoice INV-1,2026-11-03,1200,AR,10.00,0.00,\r\n"
    )
    return None, {"format": "gl_journal_csv", "file": SimpleUploadedFile("gl.csv", content)}


def unknown_difference(world: World) -> tuple[int, dict]:
    """A difference a books check reports only: Finance is let in, and refused."""
    run = Reconciliation.objects.create(package="beancount", state="done")
    difference = run.differences.create(kind="unknown", record_type="invoice", record_id=1)
    return difference.pk, {}


def with_saved_options(world: World) -> tuple[None, dict]:
    world.book  # noqa: B018 - the book sets the setup up
    AccountingSetup.objects.filter(pk=1).update(
        export_format="quickbooks_online_csv", saved_options={"qbo_date_format": "dmy"}
    )
    return None, {}


STEPS: dict[str, Step] = {
    "revoke one's own API token": Step(
        "post", "/api/v1/auth/token/revoke/", lambda w: (None, {}), every_role(204)
    ),
    "create company": Step(
        "post",
        "/api/v1/companies/",
        lambda w: (None, {"identifier": "NEWCO", "name": "New Co", "is_vendor": True}),
        only_finance(201),
    ),
    "create GL account": Step(
        "post",
        "/api/v1/accounting/gl-accounts/",
        lambda w: (None, {"number": "4100", "name": "Projects", "type": "income"}),
        only_finance(201),
    ),
    "create tax code": Step(
        "post",
        "/api/v1/accounting/tax-codes/",
        lambda w: (
            None,
            {
                "code": "CT",
                "name": "City tax",
                "rate": "1.5",
                "gl_account": w.book["accounts"]["sales_tax"].pk,
            },
        ),
        only_finance(201),
    ),
    "edit setup": Step(
        "patch",
        "/api/v1/accounting/setup/",
        lambda w: (None, {"export_format": "iif"}),
        only_finance(200),
    ),
    "restore setup options": Step(
        "post", "/api/v1/accounting/setup/restore-options/", with_saved_options, only_finance(200)
    ),
    "test the direct transfer's connection": Step(
        # The setup's package has no direct transfer: finance gets its 400, not a 403.
        "post",
        "/api/v1/accounting/setup/test-connection/",
        lambda w: (None, {}),
        only_finance(400),
    ),
    "create expense type": Step(
        "post",
        "/api/v1/expense-types/",
        lambda w: (
            None,
            {"code": "MEALS", "name": "Meals", "gl_account": w.book["accounts"]["expense"].pk},
        ),
        only_finance(201),
    ),
    "create invoice": Step(
        "post", "/api/v1/invoices/", lambda w: (None, invoice_body(w)), only_finance(201)
    ),
    "edit invoice": Step(
        "patch",
        "/api/v1/invoices/{id}/",
        lambda w: (w.invoice(closed=False).pk, {"due_date": "2026-12-31"}),
        only_finance(200),
    ),
    "unbatch invoice": Step(
        "post",
        "/api/v1/invoices/{id}/unbatch/",
        lambda w: (w.batched_invoice().pk, {}),
        only_finance(200),
    ),
    "rebatch invoice": Step(
        "post",
        "/api/v1/invoices/{id}/rebatch/",
        lambda w: (w.unbatched_invoice().pk, {}),
        only_finance(200),
    ),
    "create expense sheet": Step(
        "post",
        "/api/v1/expense-sheets/",
        lambda w: (None, {"period_start": "2026-11-02", "period_end": "2026-11-08"}),
        every_role(201),
    ),
    # The sheets belong to the Staff member: the Approver may not change them.
    "submit expense sheet": Step(
        "post",
        "/api/v1/expense-sheets/{id}/submit/",
        lambda w: (w.sheet().pk, {}),
        {STAFF: 200, FINANCE: 200},
    ),
    "approve expense sheet": Step(
        "post",
        "/api/v1/expense-sheets/{id}/approve/",
        lambda w: (w.sheet("submitted").pk, {}),
        {APPROVER: 200},
    ),
    "reverse expense sheet": Step(
        "post",
        "/api/v1/expense-sheets/{id}/reverse/",
        lambda w: (w.sheet("approved").pk, {}),
        {APPROVER: 200},
    ),
    "create expense entry": Step(
        "post",
        "/api/v1/expense-entries/",
        lambda w: (None, entry_body(w, w.sheet().pk)),
        {STAFF: 201, FINANCE: 201},
    ),
    "edit expense entry": Step(
        "patch",
        "/api/v1/expense-entries/{id}/",
        lambda w: (w.sheet().entries.get().pk, {"amount": "43.00"}),
        {STAFF: 200, FINANCE: 200},
    ),
    "unbatch expense entry": Step(
        "post",
        "/api/v1/expense-entries/{id}/unbatch/",
        lambda w: (w.batched_expense().pk, {}),
        only_finance(200),
    ),
    "rebatch expense entry": Step(
        "post",
        "/api/v1/expense-entries/{id}/rebatch/",
        lambda w: (w.unbatched_expense().pk, {}),
        only_finance(200),
    ),
    "create purchase order": Step(
        "post",
        "/api/v1/purchase-orders/",
        lambda w: (None, {"vendor": w.book["vendor"].pk, "date": DAY.isoformat()}),
        only_finance(201),
    ),
    "edit purchase order": Step(
        "patch",
        "/api/v1/purchase-orders/{id}/",
        lambda w: (w.order(received=False, closed=False)[0].pk, {"freight_amount": "40.00"}),
        only_finance(200),
    ),
    "unbatch freight": Step(
        "post",
        "/api/v1/purchase-orders/{id}/unbatch-freight/",
        lambda w: (w.batched_order()[0].pk, {}),
        only_finance(200),
    ),
    "rebatch freight": Step(
        "post",
        "/api/v1/purchase-orders/{id}/rebatch-freight/",
        lambda w: (w.unbatched("freight")[0].pk, {}),
        only_finance(200),
    ),
    "add product line": Step(
        "post",
        "/api/v1/purchase-order-lines/",
        lambda w: (
            None,
            {
                "purchase_order": w.order(received=False, closed=False)[0].pk,
                "description": "Switch",
                "quantity": "1",
                "unit_cost": "99.00",
            },
        ),
        only_finance(201),
    ),
    "edit product line": Step(
        "patch",
        "/api/v1/purchase-order-lines/{id}/",
        lambda w: (w.order(received=False, closed=False)[1].pk, {"quantity": "3"}),
        only_finance(200),
    ),
    "receive product line": Step(
        "post",
        "/api/v1/purchase-order-lines/{id}/receive/",
        lambda w: (w.order(received=False, closed=False)[1].pk, {}),
        only_finance(200),
    ),
    "unreceive product line": Step(
        "post",
        "/api/v1/purchase-order-lines/{id}/unreceive/",
        lambda w: (w.received_open_line().pk, {}),
        only_finance(200),
    ),
    "unbatch product line": Step(
        "post",
        "/api/v1/purchase-order-lines/{id}/unbatch/",
        lambda w: (w.batched_order()[1].pk, {}),
        only_finance(200),
    ),
    "rebatch product line": Step(
        "post",
        "/api/v1/purchase-order-lines/{id}/rebatch/",
        lambda w: (w.unbatched("product")[1].pk, {}),
        only_finance(200),
    ),
    # Changed since sent, in an export file: the clerk's word clears it; the connector
    # cannot reach an export file's package, so "update in the package" is refused.
    "invoice updated in the package by hand": Step(
        "post",
        "/api/v1/invoices/{id}/package-updated/",
        lambda w: (w.changed_since_sent("invoice"), {}),
        only_finance(200),
    ),
    "invoice updated in the package by the connector": Step(
        "post",
        "/api/v1/invoices/{id}/update-in-package/",
        lambda w: (w.changed_since_sent("invoice"), {}),
        only_finance(409),
    ),
    # Changed since sent, in an export file: the clerk's word clears it; the connector
    # cannot reach an export file's package, so "update in the package" is refused.
    "expense updated in the package by hand": Step(
        "post",
        "/api/v1/expense-entries/{id}/package-updated/",
        lambda w: (w.changed_since_sent("expense"), {}),
        only_finance(200),
    ),
    "expense updated in the package by the connector": Step(
        "post",
        "/api/v1/expense-entries/{id}/update-in-package/",
        lambda w: (w.changed_since_sent("expense"), {}),
        only_finance(409),
    ),
    # Changed since sent, in an export file: the clerk's word clears it; the connector
    # cannot reach an export file's package, so "update in the package" is refused.
    "freight updated in the package by hand": Step(
        "post",
        "/api/v1/purchase-orders/{id}/package-updated/",
        lambda w: (w.changed_since_sent("freight"), {}),
        only_finance(200),
    ),
    "freight updated in the package by the connector": Step(
        "post",
        "/api/v1/purchase-orders/{id}/update-in-package/",
        lambda w: (w.changed_since_sent("freight"), {}),
        only_finance(409),
    ),
    # Changed since sent, in an export file: the clerk's word clears it; the connector
    # cannot reach an export file's package, so "update in the package" is refused.
    "product updated in the package by hand": Step(
        "post",
        "/api/v1/purchase-order-lines/{id}/package-updated/",
        lambda w: (w.changed_since_sent("product"), {}),
        only_finance(200),
    ),
    "product updated in the package by the connector": Step(
        "post",
        "/api/v1/purchase-order-lines/{id}/update-in-package/",
        lambda w: (w.changed_since_sent("product"), {}),
        only_finance(409),
    ),
    "create batch": Step(
        "post",
        "/api/v1/accounting/batches/",
        lambda w: (None, {"items": [{"type": "invoice", "id": w.invoice().pk}]}),
        only_finance(201),
    ),
    "delete batch": Step(
        "delete",
        "/api/v1/accounting/batches/{id}/",
        lambda w: (w.batch([{"type": "invoice", "id": w.invoice().pk}]).pk, {}),
        only_finance(204),
    ),
    "retry transfer": Step(
        "post",
        "/api/v1/accounting/batches/{id}/retry/",
        lambda w: (w.failed_batch().pk, {}),
        only_finance(200),
    ),
    "close batch": Step(
        "post",
        "/api/v1/accounting/batches/{id}/close/",
        lambda w: (w.batch([{"type": "invoice", "id": w.invoice().pk}], transferred=True).pk, {}),
        only_finance(200),
    ),
    # Reopening is an administrator's action: no role grants it (see the test below).
    "reopen batch": Step(
        "post",
        "/api/v1/accounting/batches/{id}/reopen/",
        lambda w: (w.batch([{"type": "invoice", "id": w.invoice().pk}]).pk, {}),
        {},
    ),
    "start a books check": Step(
        "post", "/api/v1/accounting/reconciliations/", with_connector, only_finance(201)
    ),
    "check an uploaded export": Step(
        "post",
        "/api/v1/accounting/reconciliations/upload/",
        uploaded_export,
        only_finance(201),
        format="multipart",
    ),
    "fix a books check difference": Step(
        "post",
        "/api/v1/accounting/reconciliation-differences/{id}/fix/",
        unknown_difference,
        only_finance(409),
    ),
    "re-record deleted batch": Step(
        "post",
        "/api/v1/accounting/batches/{id}/rerecord/",
        lambda w: (w.deleted_batch().pk, {}),
        only_finance(201),
    ),
}


def test_the_matrix_covers_every_mutating_endpoint(openapi_schema):
    mutating = {
        (method, path)
        for path, operations in openapi_schema["paths"].items()
        for method in operations
        if method in {"post", "put", "patch", "delete"} and path != "/api/v1/auth/token/"
    }
    assert {(step.method, step.template) for step in STEPS.values()} == mutating


@pytest.mark.parametrize("role", [ANONYMOUS, STAFF, APPROVER, FINANCE])
@pytest.mark.parametrize("name", list(STEPS))
def test_permission_matrix(request, api, name, role):
    step = STEPS[name]
    world = World(request)
    record_id, body = step.prepare(world)
    user = None if role == ANONYMOUS else request.getfixturevalue(role)
    url = step.template.replace("{id}", str(record_id))
    response = getattr(api(user), step.method)(url, body, format=step.format)
    expected = step.expected(role)
    assert response.status_code == expected, response.content[:400]
    if expected in {401, 403}:
        assert (
            response.json()["code"]
            == {401: "not_authenticated", 403: "permission_denied"}[expected]
        )


def test_only_an_administrator_reopens_a_closed_batch(
    api, finance, administrator, make_invoice, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    with django_capture_on_commit_callbacks(execute=True):
        batch = accounting.batch_create(
            actor=finance, items=[{"type": "invoice", "id": invoice.pk}]
        )
    accounting.batch_close(actor=finance, batch_id=batch.pk)
    url = f"/api/v1/accounting/batches/{batch.pk}/reopen/"
    refusal = api(finance).post(url)
    assert refusal.status_code == 403 and "administrator" in refusal.json()["detail"]
    reopened = api(administrator).post(url)
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"


def test_every_operation_refuses_anonymous_callers(api, openapi_schema):
    client = api()
    for path, operations in openapi_schema["paths"].items():
        if path == "/api/v1/auth/token/":
            continue
        for method in operations:
            response = getattr(client, method)(path.replace("{id}", "1"), {})
            assert response.status_code == 401, (method, path)
            assert response.json()["code"] == "not_authenticated"
            assert response["WWW-Authenticate"] == "Token"


def test_an_invalid_token_is_not_authenticated(api):
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/companies/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_staff_see_and_change_only_their_own_expenses(api, staff, approver, make_sheet):
    mine = make_sheet()
    other_member = make_user("olga", "Staff")
    theirs = make_sheet(member=other_member)
    client = api(staff)
    listed = client.get("/api/v1/expense-sheets/").json()["results"]
    assert [sheet["id"] for sheet in listed] == [mine.pk]
    assert client.get(f"/api/v1/expense-sheets/{theirs.pk}/").status_code == 404
    entry = theirs.entries.get()
    assert (
        client.patch(f"/api/v1/expense-entries/{entry.pk}/", {"amount": "1.00"}).status_code == 404
    )
    assert [e["id"] for e in client.get("/api/v1/expense-entries/").json()["results"]] == [
        mine.entries.get().pk
    ]
    refused = client.post(
        "/api/v1/expense-sheets/",
        {"member": other_member.pk, "period_start": "2026-11-02", "period_end": "2026-11-08"},
    )
    assert refused.status_code == 403
    # An approver sees every sheet, to approve it.
    assert len(api(approver).get("/api/v1/expense-sheets/").json()["results"]) == 2


def test_an_approver_sees_another_members_expenses_but_changes_only_their_own(
    api, approver, make_sheet
):
    sheet = make_sheet()  # Staff's
    entry = sheet.entries.get()
    client = api(approver)
    assert client.get(f"/api/v1/expense-entries/{entry.pk}/").status_code == 200
    for response in (
        client.patch(f"/api/v1/expense-entries/{entry.pk}/", {"amount": "1.00"}),
        client.patch(f"/api/v1/expense-entries/{entry.pk}/", {"amount": "not money"}),
        client.post(f"/api/v1/expense-sheets/{sheet.pk}/submit/"),
    ):
        assert response.status_code == 403, response.json()
        assert response.json()["code"] == "permission_denied"
        assert response.json()["items"][0] == {
            "type": "expense_sheet",
            "id": sheet.pk,
            "reference": f"Expense sheet {sheet.pk}",
        }
    entry.refresh_from_db()
    sheet.refresh_from_db()
    assert entry.amount != Decimal("1.00") and sheet.status == "open"


def test_nobody_approves_or_reverses_their_own_sheet(api, approver, make_sheet):
    sheet = make_sheet(member=approver)
    expense_services.expense_sheet_submit(actor=approver, sheet=sheet)
    response = api(approver).post(f"/api/v1/expense-sheets/{sheet.pk}/approve/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert response.json()["items"][0]["id"] == sheet.pk


def test_finance_creates_a_sheet_for_a_member(api, finance, staff):
    response = api(finance).post(
        "/api/v1/expense-sheets/",
        {"member": staff.pk, "period_start": "2026-11-02", "period_end": "2026-11-08"},
    )
    assert response.status_code == 201 and response.json()["member"] == staff.pk


def test_money_in_and_out_is_decimal_strings(api, finance, book):
    response = api(finance).post(
        "/api/v1/invoices/",
        {
            "company": book["client"].pk,
            "date": dt.date(2026, 11, 3).isoformat(),
            "tax_code": book["tax"].pk,
            "lines": [{"description": "Hours", "quantity": "2.5", "unit_price": "95.10"}],
        },
    )
    body = response.json()
    assert (body["subtotal"], body["tax"], body["total"]) == ("237.75", "19.61", "257.36")
    assert Decimal(body["lines"][0]["quantity"]) == Decimal("2.5")
