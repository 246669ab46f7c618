"""The finance API's own OpenAPI document, the accounting package setup read and written
through ConnectWise's fields (PUT, and PATCH with [{op, path, value}]), and the
packages."""

import json

from accounting.models import AccountingSetup, AuditEvent
from tests.cwapi import cw_models as m

SETUP = "/apis/3.0/finance/accountingPackageSetup"


def test_openapi_document_lists_the_finance_endpoints(client, settings, db):
    # Served like the REST API's schema: to signed-in users, or to all with API_DOCS_PUBLIC.
    assert client.get("/apis/3.0/openapi/", {"format": "json"}).status_code == 401
    settings.API_DOCS_PUBLIC = True
    response = client.get("/apis/3.0/openapi/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = set(schema["paths"])
    for path in [
        "/apis/3.0/finance/accounting/unpostedinvoices",
        "/apis/3.0/finance/accounting/unpostedinvoices/count",
        "/apis/3.0/finance/accounting/export",
        "/apis/3.0/finance/accounting/batches",
        "/apis/3.0/finance/accounting/batches/{id}",
        "/apis/3.0/finance/accountingPackageSetup/{id}",
    ]:
        assert path in paths, sorted(paths)
    assert not any(path.startswith("/api/v1/") for path in paths)
    assert schema["components"]["securitySchemes"]["memberKey"]["scheme"] == "basic"


def test_the_rest_apis_schema_does_not_list_the_finance_api(client, settings, db):
    settings.API_DOCS_PUBLIC = True
    schema = json.loads(client.get("/api/schema/", {"format": "json"}).content)
    assert all(path.startswith("/api/") for path in schema["paths"])


def test_setup_reads_as_connectwise_names_it(tool):
    [setup] = m.parse(m.AccountingPackageSetup, tool.get(SETUP).json(), many=True)
    assert (setup.accountingPackage.identifier, setup.accountingPackage.name) == ("Other", "Other")
    assert setup.directTransferFlag is False and setup.invoiceFormat == "Detailed"
    assert m.parse(m.AccountingPackageSetup, tool.get(SETUP + "/1").json()).id == 1
    assert tool.get(SETUP + "/2").status_code == 404
    packages = m.parse(
        m.AccountingPackage, tool.get("/apis/3.0/finance/accountingPackages").json(), many=True
    )
    assert "xero" in {p.identifier for p in packages}
    first = tool.get(f"/apis/3.0/finance/accountingPackages/{packages[0].id}")
    assert m.parse(m.AccountingPackage, first.json()).identifier == packages[0].identifier


def test_patch_changes_the_setup_through_the_service_audited(tool):
    response = tool.patch(
        SETUP + "/1",
        [
            {"op": "replace", "path": "/accountingPackage", "value": {"identifier": "xero"}},
            {"op": "replace", "path": "invoiceFormat", "value": "Detailed"},
        ],
        format="json",
    )
    assert response.status_code == 200, response.json()
    setup = m.parse(m.AccountingPackageSetup, response.json())
    assert (setup.accountingPackage.name, setup.invoiceFormat) == ("Xero", "Detailed")
    row = AccountingSetup.objects.get()
    assert (row.package, row.export_format) == ("xero", "gl_journal_csv")
    assert AuditEvent.objects.filter(action="setup_changed").count() == 1


def test_put_writes_the_whole_object(tool):
    current = tool.get(SETUP + "/1").json()
    current["accountingPackage"] = {"identifier": "QB99"}
    response = tool.put(SETUP + "/1", current, format="json")
    assert response.status_code == 200, response.json()
    assert AccountingSetup.objects.get().package == "quickbooks_desktop"


def test_setup_refusals_name_the_field_and_change_nothing(tool):
    before = list(AccountingSetup.objects.values())
    for body in [
        [{"op": "replace", "path": "includeInvoicesFlag", "value": False}],
        [{"op": "replace", "path": "invoiceFormat", "value": "pdf"}],
        [{"op": "replace", "path": "invoiceFormat", "value": ["iif"]}],
        [{"op": "replace", "path": "directTransferFlag", "value": "yes"}],
        [{"op": "replace", "path": "accountingPackage", "value": [1]}],
        [{"op": "remove", "path": "invoiceFormat"}],
        [{"op": "replace", "path": "noSuchField", "value": 1}],
        [{"op": "replace", "path": "accountingPackage", "value": {"id": 999}}],
        [
            {"op": "replace", "path": "invoiceFormat", "value": "iif"},
            {"op": "replace", "path": "expenseFormat", "value": "xero_csv"},
        ],
        {"op": "replace"},
        [],
    ]:
        response = tool.patch(SETUP + "/1", body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert response.json()["code"] == "InvalidObject"
    assert list(AccountingSetup.objects.values()) == before
    assert not AuditEvent.objects.filter(action="setup_changed").exists()
