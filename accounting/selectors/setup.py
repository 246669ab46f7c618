"""Reads of the accounting package setup and the default GL accounts."""

from accounting.models import AccountingSetup, DefaultGLAccount


def accounting_setup() -> AccountingSetup:
    """The one setup row (made by a migration)."""
    return AccountingSetup.objects.get(pk=1)


def default_accounts() -> dict[str, int]:
    """GL account type -> the id of its default GL account."""
    return dict(DefaultGLAccount.objects.values_list("type", "gl_account_id"))
