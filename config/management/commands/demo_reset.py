"""Start the demo book again: every table of the database is dropped, the migrations
run, and the demo data is loaded (`manage.py demo`).

For a development or demo server only: it refuses unless DEBUG is on, and asks for
--yes, since everything in the database goes (records, batches, audit trail, users)."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Delete everything in the database and load the demo book again (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--yes", action="store_true", help="Confirm: everything in the database goes."
        )
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, yes=False, seed=7, **options):
        if not settings.DEBUG:
            raise CommandError(
                "demo_reset runs only with DEBUG on (a development or demo server); this "
                "database was left as it was."
            )
        if not yes:
            raise CommandError(
                "This deletes every record, batch, audit event and user in the database "
                f"{connection.settings_dict['NAME']} and loads the demo book again. Run "
                "it again with --yes to go ahead; nothing was changed."
            )
        name = connection.settings_dict["NAME"]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("DROP SCHEMA public CASCADE")
                cursor.execute("CREATE SCHEMA public")
        elif connection.vendor == "sqlite":
            connection.close()
            path = Path(str(name))
            if path.exists():
                path.unlink()
        else:
            raise CommandError(f"demo_reset knows PostgreSQL and SQLite, not {connection.vendor}.")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("demo", seed=seed, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"The demo book in {name} is new again."))
