"""The accounting package setup's options over HTTP: the ledger is a name inside the
ledger folder (LEDGER_ROOT) the server's operator sets, and every option has a declared
type; what breaks either is a field error that changes nothing."""

import os

import pytest

from accounting.models import AccountingSetup, AuditEvent

SETUP = "/api/v1/accounting/setup/"


def row():
    return AccountingSetup.objects.values(
        "package", "direct_transfer", "export_format", "options", "saved_options"
    ).get(pk=1)


def beancount(client, options, **more):
    return client.patch(
        SETUP, {"package": "beancount", "direct_transfer": True, "options": options, **more}
    )


def assert_refused(response, field, before):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in body["fields"], body
    assert row() == before
    assert not AuditEvent.objects.filter(action="setup_changed").exists()


@pytest.mark.parametrize(
    "name",
    [
        "/tmp/pwned.beancount",
        "../outside.beancount",
        "books/../../outside.beancount",
        "",
        "books/",
        ".",
        "books/\x1bmain.beancount",
        "books/main\n.beancount",
    ],
)
def test_a_ledger_name_that_leaves_the_ledger_folder_is_a_field_error(
    api, finance, book, ledger_root, name
):
    before = row()
    response = beancount(api(finance), {"ledger_path": name})
    assert_refused(response, "options.ledger_path", before)
    assert not (ledger_root.parent / "outside.beancount").exists()
    assert os.listdir(ledger_root) == []


def test_a_nul_character_in_the_ledger_name_is_refused(api, finance, book, ledger_root):
    before = row()
    response = beancount(api(finance), {"ledger_path": "books/main\x00.beancount"})
    assert response.status_code == 400 and row() == before


def test_a_symlink_inside_the_folder_that_leads_out_is_refused(
    api, finance, book, ledger_root, tmp_path
):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t-P@ssw0rd!\n")
    (ledger_root / "out").symlink_to(outside)
    (ledger_root / "secret.beancount").symlink_to(secret)
    (ledger_root / "zero.beancount").symlink_to("/dev/zero")
    client = api(finance)
    before = row()
    for name in ("out/main.beancount", "secret.beancount", "zero.beancount"):
        response = beancount(client, {"ledger_path": name})
        assert_refused(response, "options.ledger_path", before)
        message = " ".join(response.json()["fields"]["options.ledger_path"])
        assert str(tmp_path) not in message and "s3cr3t" not in message
    assert os.listdir(outside) == []


def test_a_fifo_or_a_folder_is_not_a_ledger(api, finance, book, ledger_root):
    os.mkfifo(ledger_root / "pipe.beancount")
    (ledger_root / "books").mkdir()
    client = api(finance)
    before = row()
    for name in ("pipe.beancount", "books"):
        response = beancount(client, {"ledger_path": name})
        assert_refused(response, "options.ledger_path", before)


def test_a_name_inside_the_folder_is_kept_as_given(api, finance, book, ledger_root):
    (ledger_root / "books").mkdir()
    (ledger_root / "books" / "2026.beancount").write_text("")
    (ledger_root / "current.beancount").symlink_to(ledger_root / "books" / "2026.beancount")
    (ledger_root / "new" / "folder").mkdir(parents=True)
    (ledger_root / "new" / "folder" / "main.beancount").write_text("")
    client = api(finance)
    for name in ("books/2026.beancount", "new/folder/main.beancount", "current.beancount"):
        response = beancount(client, {"ledger_path": name})
        assert response.status_code == 200, response.json()
        assert response.json()["options"] == {"ledger_path": name}
    # A ledger that does not exist is refused, unless a new empty one is asked for.
    response = beancount(client, {"ledger_path": "books/main.beancount"})
    assert response.status_code == 400
    assert "There is no ledger of that name" in response.json()["fields"]["options.ledger_path"][0]
    # Saving checks; it creates nothing.
    assert sorted(os.listdir(ledger_root)) == ["books", "current.beancount", "new"]
    assert os.listdir(ledger_root / "books") == ["2026.beancount"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"options": {"ledger_path": ["main.beancount"]}}, "options.ledger_path"),
        ({"options": {"ledger_path": 5}}, "options.ledger_path"),
        ({"options": {"ledger_path": {"name": "main.beancount"}}}, "options.ledger_path"),
        ({"options": {"ledger_path": "main.beancount", "currency": 5}}, "options.currency"),
        ({"options": {"ledger_path": "main.beancount", "currency": "us$"}}, "options.currency"),
        (
            {"options": {"ledger_path": "main.beancount", "class_tracking": True}},
            "options.class_tracking",
        ),
        ({"options": {}}, "options.ledger_path"),
        (
            {
                "direct_transfer": False,
                "package": "quickbooks_online",
                "export_format": "quickbooks_online_csv",
                "options": {"qbo_items": "notadict"},
            },
            "options.qbo_items",
        ),
        (
            {
                "direct_transfer": False,
                "package": "quickbooks_online",
                "export_format": "quickbooks_online_csv",
                "options": {"qbo_items": {"4000": 7}},
            },
            "options.qbo_items",
        ),
        (
            {
                "direct_transfer": False,
                "package": "quickbooks_online",
                "export_format": "quickbooks_online_csv",
                "options": {"qbo_invoices_as": "bills"},
            },
            "options.qbo_invoices_as",
        ),
        (
            {
                "direct_transfer": False,
                "package": "xero",
                "export_format": "iif",
                "options": {"xero_date_format": "us"},
            },
            "options.xero_date_format",
        ),
    ],
)
def test_options_of_the_wrong_type_or_unknown_are_field_errors(
    api, finance, book, ledger_root, payload, field
):
    before = row()
    response = beancount(api(finance), **{"options": {}, **payload})
    assert_refused(response, field, before)


def test_options_of_the_package_and_of_the_export_format_are_accepted(
    api, finance, book, ledger_root
):
    options = {
        "ledger_path": "main.beancount",
        "currency": "EUR",
        "qbo_invoices_as": "invoice",
        "qbo_date_format": "dmy",
        "qbo_items": {"4000": "Consulting"},
        "qbo_tax_codes": {"STATE": "TAX"},
    }
    (ledger_root / "main.beancount").write_text("")
    response = beancount(api(finance), options, export_format="quickbooks_online_csv")
    assert response.status_code == 200, response.json()
    assert response.json()["options"] == options


def test_changing_the_export_format_checks_the_options_it_leaves(api, finance, book, ledger_root):
    client = api(finance)
    response = client.patch(
        SETUP,
        {
            "package": "quickbooks_online",
            "export_format": "quickbooks_online_csv",
            "options": {"qbo_date_format": "dmy"},
        },
    )
    assert response.status_code == 200, response.json()
    before = row()
    response = client.patch(SETUP, {"export_format": "xero_csv"})
    assert response.status_code == 400
    assert "options.qbo_date_format" in response.json()["fields"]
    assert row() == before


def test_restoring_saved_options_checks_them(api, finance, book, ledger_root):
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", saved_options={"ledger_path": "/etc/hostname"}
    )
    before = row()
    response = api(finance).post(f"{SETUP}restore-options/")
    assert response.status_code == 400
    assert "options.ledger_path" in response.json()["fields"]
    assert row() == before


def test_the_setup_reads_whatever_an_old_row_holds(api, finance, book, ledger_root):
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options=["not", "an", "object"]
    )
    response = api(finance).get(SETUP)
    assert response.status_code == 200
    # Setting good options over bad ones works.
    (ledger_root / "main.beancount").write_text("")
    response = beancount(api(finance), {"ledger_path": "main.beancount"})
    assert response.status_code == 200, response.json()
