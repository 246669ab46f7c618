"""`manage.py verify_audit`: recompute the audit trail's hash chain and report the first
link that does not hold. Exits with status 1 when the chain is broken."""

from django.core.management.base import BaseCommand, CommandError

from accounting.audit import verify_chain
from core.errors import ApplicationError


class Command(BaseCommand):
    help = "Check that no audit event was changed, removed or added by hand since written."

    def handle(self, *args, **options) -> None:
        try:
            report = verify_chain()
        except ApplicationError as error:
            raise CommandError(str(error)) from None
        if report.broken:
            raise CommandError(
                f"The audit trail is broken after {report.events} intact events. {report.broken}"
            )
        if report.unsealed:
            ids = ", ".join(map(str, report.unsealed))
            raise CommandError(
                f"Audit events {ids} were written outside the hash chain (by hand, with its "
                "trigger off); the chain itself holds for "
                f"{report.events} events."
            )
        self.stdout.write(
            f"The audit trail is intact: {report.events} events, chain head {report.head or '-'}."
        )
