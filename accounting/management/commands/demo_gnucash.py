"""`manage.py demo_gnucash`: switch the demo to direct transfer into a GnuCash book.

Makes a SQLite GnuCash book inside the ledger folder (`LEDGER_ROOT`, `var/ledgers` by
default) with an account for each GL account of the PSA (code the GL account's number),
unless the book exists already, and sets the accounting package setup to GnuCash with
Direct Transfer on that book, as Finance would in the setup (checked and audited). Then
every batch goes straight into the book, which GnuCash opens as it is
(File > Open > the .gnucash file)."""

from django.core.management.base import BaseCommand, CommandError

from accounting.connectors import files
from accounting.connectors.gnucash import create_book
from accounting.models import GLAccount
from accounting.services.setup import (
    accounting_setup_test_connection,
    accounting_setup_update,
)
from core.errors import ApplicationError

DEFAULT_BOOK = "books/demo.gnucash"


class Command(BaseCommand):
    help = (
        "Switch the demo to GnuCash direct transfer: make a book with the PSA's GL "
        "accounts in the ledger folder (if it is not there yet) and point the setup at it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--book",
            default=DEFAULT_BOOK,
            help=f"The book's name inside the ledger folder (default {DEFAULT_BOOK}).",
        )
        parser.add_argument(
            "--currency", default="USD", help="The new book's currency (default USD)."
        )

    def handle(self, *args, book: str, currency: str, **options) -> None:
        accounts = list(GLAccount.objects.order_by("number").values_list("number", "name", "type"))
        if not accounts:
            raise CommandError(
                "There are no GL accounts to make the book's accounts from; load the demo "
                "first (manage.py demo), or add GL accounts."
            )
        try:
            location = files.locate(book)
            if (location.root.joinpath(*location.folders, location.file)).exists():
                self.stdout.write(f"The book {book} exists already; it is used as it is.")
            else:
                create_book(book, accounts, currency=currency)
                self.stdout.write(
                    f"Made the GnuCash book {book} in the ledger folder with "
                    f"{len(accounts)} accounts."
                )
            accounting_setup_update(
                actor=None, package="gnucash", direct_transfer=True, options={"ledger_path": book}
            )
            report = accounting_setup_test_connection()
        except ApplicationError as error:
            raise CommandError(error.message) from None
        self.stdout.write(report["message"])
        for problem in report["problems"]:
            self.stdout.write(f"  {problem}")
        self.stdout.write(
            "The setup sends every batch directly into the book: create a batch in the "
            f"Accounting Interface, then open {location.root / book} in GnuCash."
        )
