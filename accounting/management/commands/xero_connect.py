"""Connect the PSA to Xero with a custom connection, then test it:

    python manage.py xero_connect --client-id ID     # asks for the secret, not echoed
    python manage.py xero_connect --test             # names the organisation

The secret is read from the terminal (or XERO_CLIENT_SECRET), never from the command
line, where other users of the machine could read it."""

import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from accounting.services.xero import xero_connect, xero_test_connection
from core.errors import ApplicationError


class Command(BaseCommand):
    help = "Store the Xero custom connection's client id and secret (encrypted), and test it."

    def add_arguments(self, parser):
        parser.add_argument("--client-id", default="")
        parser.add_argument("--test", action="store_true", help="Only test the connection.")

    def handle(self, *args, client_id: str, test: bool, **options):
        try:
            if not test:
                secret = os.environ.get("XERO_CLIENT_SECRET") or getpass.getpass("Client secret: ")
                xero_connect(client_id=client_id, client_secret=secret)
            name = xero_test_connection()
        except ApplicationError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Connected to Xero: {name}")
