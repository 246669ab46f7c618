"""Reads of the accounting package setup and the default GL accounts."""

from accounting.models import AccountingSetup, AuditEvent, DefaultGLAccount


def accounting_setup() -> AccountingSetup:
    """The one setup row (made by a migration)."""
    return AccountingSetup.objects.get(pk=1)


def default_accounts() -> dict[str, int]:
    """GL account type -> the id of its default GL account."""
    return dict(DefaultGLAccount.objects.values_list("type", "gl_account_id"))


def setup_trail(*, limit: int = 20) -> list[AuditEvent]:
    """The latest changes of the setup, newest first."""
    return list(
        AuditEvent.objects.filter(record_type="setup", record_id=None)
        .select_related("actor")
        .order_by("-at", "-pk")[:limit]
    )
