"""Setting up a direct transfer to a GnuCash book over HTTP: its typed options, their field
errors, and "Test connection", which opens the book and reports what it holds."""

import logging

import pytest

from accounting.connectors.gnucash import create_book
from accounting.models import AccountingSetup, AuditEvent, GLAccount

SETUP = "/api/v1/accounting/setup/"
TEST_CONNECTION = "/api/v1/accounting/setup/test-connection/"
SECRET_URL = "postgresql://books:s3cret-pw@127.0.0.1:5432/gnucash_books"


def gnucash(client, options):
    return client.patch(SETUP, {"package": "gnucash", "direct_transfer": True, "options": options})


def gl_accounts():
    return [(a.number, a.name, a.type) for a in GLAccount.objects.order_by("number")]


def test_gnucash_with_a_book_in_the_ledger_folder_is_saved(api, finance, book, ledger_root):
    response = gnucash(api(finance), {"ledger_path": "books/main.gnucash"})
    assert response.status_code == 400
    assert "There is no GnuCash book of that name" in str(response.json()["fields"])
    assert AccountingSetup.objects.get(pk=1).package != "gnucash"

    create_book("books/main.gnucash", gl_accounts(), root=ledger_root)
    response = gnucash(api(finance), {"ledger_path": "books/main.gnucash"})

    assert response.status_code == 200, response.content
    assert response.json()["options"] == {"ledger_path": "books/main.gnucash"}
    assert AccountingSetup.objects.get(pk=1).package == "gnucash"


@pytest.mark.parametrize(
    ("options", "field", "says"),
    [
        ({}, "options.ledger_path", "Direct Transfer needs it"),
        ({"book_database": "file"}, "options.ledger_path", "Direct Transfer needs it"),
        ({"ledger_path": "../books/main.gnucash"}, "options.ledger_path", ".."),
        ({"ledger_path": "/srv/main.gnucash"}, "options.ledger_path", "relative"),
        ({"ledger_path": "b.gnucash", "book_database": "mysql"}, "options.book_database", "file"),
        ({"ledger_path": "b.gnucash", "currency": "USD"}, "options.currency", "Not an option"),
    ],
)
def test_options_gnucash_cannot_use_are_field_errors_and_change_nothing(
    api, finance, book, ledger_root, options, field, says
):
    before = AccountingSetup.objects.values().get(pk=1)

    response = gnucash(api(finance), options)

    assert response.status_code == 400, response.content
    assert says in " ".join(response.json()["fields"][field])
    assert AccountingSetup.objects.values().get(pk=1) == before
    assert not AuditEvent.objects.filter(action="setup_changed").exists()


def test_a_book_in_postgresql_needs_no_file_name(api, finance, book, ledger_root):
    response = gnucash(api(finance), {"book_database": "postgresql"})
    assert response.status_code == 200, response.content


def test_test_connection_reports_what_the_book_holds(api, finance, book, ledger_root):
    create_book("books/main.gnucash", gl_accounts(), root=ledger_root)
    client = api(finance)
    gnucash(client, {"ledger_path": "books/main.gnucash"})

    response = client.post(TEST_CONNECTION)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is True and body["problems"] == []
    assert body["found"] == {
        "currency": "USD",
        "accounts": len(gl_accounts()) + 4,  # and Assets, Liabilities, Income, Expenses
        "transactions": 0,
        "sent_transactions": 0,
    }
    assert body["message"].startswith("Opened the GnuCash book books/main.gnucash:")


def test_test_connection_names_the_gl_accounts_the_book_lacks(api, finance, book, ledger_root):
    create_book("books/main.gnucash", gl_accounts()[1:], root=ledger_root)
    first = GLAccount.objects.order_by("number").first()
    client = api(finance)
    gnucash(client, {"ledger_path": "books/main.gnucash"})

    body = client.post(TEST_CONNECTION).json()

    assert body["ok"] is False
    assert body["problems"] == [
        f"GL account {first.number} {first.name} has no account in the book (by code "
        f"{first.number} or full name '{first.name}')."
    ]


def test_test_connection_of_a_missing_book_says_so(api, finance, book, ledger_root):
    client = api(finance)
    # Saved when the book was there; it is gone since.
    AccountingSetup.objects.filter(pk=1).update(
        package="gnucash", direct_transfer=True, options={"ledger_path": "books/none.gnucash"}
    )

    response = client.post(TEST_CONNECTION)

    assert response.status_code == 400
    assert "The GnuCash book books/none.gnucash does not exist" in response.json()["detail"]
    assert not (ledger_root / "books" / "none.gnucash").exists()


def test_test_connection_of_a_package_without_direct_transfer_is_refused(api, finance, book):
    response = api(finance).post(TEST_CONNECTION)
    assert response.status_code == 400
    assert "has no direct transfer" in response.json()["detail"]


def test_the_postgresql_book_url_is_never_shown_or_logged(
    api, finance, book, ledger_root, settings, caplog
):
    settings.GNUCASH_DATABASE_URL = SECRET_URL  # no server listens there for this book
    client = api(finance)
    gnucash(client, {"book_database": "postgresql"})

    with caplog.at_level(logging.DEBUG):
        tested = client.post(TEST_CONNECTION)
        shown = client.get(SETUP)

    assert tested.status_code == 409
    assert tested.json()["code"] == "book_invalid"
    assert "cannot be opened as a GnuCash book" in tested.json()["detail"]
    for text in (tested.content.decode(), shown.content.decode(), caplog.text):
        assert "s3cret-pw" not in text and "gnucash_books" not in text


def test_a_book_in_postgresql_without_the_servers_url_is_explained(api, finance, book, settings):
    settings.GNUCASH_DATABASE_URL = ""
    client = api(finance)
    gnucash(client, {"book_database": "postgresql"})

    response = client.post(TEST_CONNECTION)

    assert response.status_code == 400
    assert "GNUCASH_DATABASE_URL" in response.json()["detail"]
