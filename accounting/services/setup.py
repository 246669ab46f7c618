"""Writes to the accounting package setup table: one function per action, atomic,
audited.

As in the vendor product, clearing Direct Transfer clears the package's customised
options; unlike it, the options are kept in `saved_options` and one action restores
them, so nobody has to note them down before making a one-off export file.

Options are checked against what the chosen package and export format declare
(`accounting.setup_options`), and a ledger name against the ledger folder on disk
(`accounting.connectors.files`), whenever a change could make them wrong: setting them,
changing the package, export format or Direct Transfer, restoring saved ones. Each
problem is a field error keyed `options.<name>`, and nothing changes.
"""

import os
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction

from accounting import payments, selectors
from accounting.audit import audit_record
from accounting.connectors import files, get_connector, has_connector
from accounting.models import (
    AccountingSetup,
    DefaultGLAccount,
    ExportFormat,
    GLAccount,
    GLAccountType,
    Package,
    XeroConnection,
)
from accounting.services.xero import xero_connect
from accounting.setup_options import option_errors
from core.errors import ApplicationError, InvalidInput
from core.inputs import UNSET

SETUP_ACTION = "setup_changed"
SETUP_RECORD_TYPE = "setup"  # the audit trail's record type for the one setup row


def _lock_setup() -> AccountingSetup:
    return AccountingSetup.objects.select_for_update().get(pk=1)


def _state(setup: AccountingSetup) -> dict[str, Any]:
    return {
        "package": setup.package,
        "direct_transfer": setup.direct_transfer,
        "export_format": setup.export_format,
        "options": setup.options,
        "saved_options": setup.saved_options,
        "paid_invoice_status": setup.paid_invoice_status,
        "default_accounts": selectors.default_accounts(),
    }


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    # Options stay JSON objects in the audit trail, so they can be read back as set.
    return {
        name: {"before": before[name], "after": value}
        for name, value in after.items()
        if before[name] != value
    }


def _audit(actor: AbstractBaseUser | None, changes: dict[str, Any]) -> None:
    audit_record(
        actor=actor,
        action=SETUP_ACTION,
        record_type=SETUP_RECORD_TYPE,
        record_id=None,  # the one setup row
        changes=changes,
    )


def _check_choice(
    value: Any, choices: type[models.TextChoices], field: str, errors: dict[str, list[str]]
) -> None:
    if value not in choices.values:
        errors.setdefault(field, []).append(f"Choose one of: {', '.join(choices.values)}.")


NO_DIRECT_TRANSFER = (
    "This package has no direct transfer; clear Direct Transfer or choose a package that has one."
)


MISSING_LEDGER = (
    "There is no ledger of that name in the ledger folder. Correct the name, or tick "
    '"Create a new empty ledger here" to start a new one.'
)
MISSING_BOOK = (
    "There is no GnuCash book of that name in the ledger folder. Correct the name, or "
    "make the book in GnuCash (File > Save As, SQLite) with the accounts of the GL "
    "account mapping (the demo: manage.py demo_gnucash)."
)


def _ledger_file(location: files.LedgerLocation) -> Path:
    return location.root.joinpath(*location.folders, location.file)


def _ledger_needed(package: str, direct_transfer: bool, options: Any) -> bool:
    """Whether the direct transfer of this setup reads a file in the ledger folder."""
    if not direct_transfer or not isinstance(options, dict):
        return False
    if package == "beancount":
        return True
    return package == "gnucash" and options.get("book_database") in (None, "file")


def setup_errors(
    *,
    package: str,
    export_format: str,
    direct_transfer: bool,
    options: Any,
    create_ledger: bool = False,
) -> dict[str, list[str]]:
    """Field errors of a setup as it would be saved: Direct Transfer for a package
    without a connector, options of the wrong type or not declared for the package and
    export format, and a ledger name that leaves the ledger folder or names something
    other than a file. With Direct Transfer on, the ledger (beancount) or book (GnuCash)
    must exist, so that a mistyped name is refused here rather than at the first
    transfer; a new empty beancount ledger is allowed when `create_ledger` asks for
    one (GnuCash books are made in GnuCash). Reads the disk; changes nothing."""
    errors: dict[str, list[str]] = {}
    if direct_transfer and not has_connector(package):
        errors["direct_transfer"] = [NO_DIRECT_TRANSFER]
    errors.update(
        option_errors(
            options, package=package, export_format=export_format, direct_transfer=direct_transfer
        )
    )
    ledger = options.get("ledger_path") if isinstance(options, dict) else None
    if ledger is not None and "options.ledger_path" not in errors:
        try:
            location = files.locate(ledger)
        except files.LedgerFileError as error:
            errors["options.ledger_path"] = [error.problem]
        else:
            missing = _ledger_needed(package, direct_transfer, options) and not (
                _ledger_file(location).exists()
            )
            if missing and package == "gnucash":
                errors["options.ledger_path"] = [MISSING_BOOK]
            elif missing and not create_ledger:
                errors["options.ledger_path"] = [MISSING_LEDGER]
    return errors


def _create_empty_ledger(name: str) -> None:
    """A new empty beancount ledger `name` in the ledger folder, made as a transfer makes
    one (folders made, no link followed, under its lock); one that exists is kept."""
    location = files.locate(name)
    with files.locked(location, exclusive=True, name=name) as folder:
        os.close(files.create_in_folder(folder, location.file, os.O_RDWR, name=name))


def _refuse_errors(setup: AccountingSetup, *, create_ledger: bool = False) -> None:
    errors = setup_errors(
        package=setup.package,
        export_format=setup.export_format,
        direct_transfer=setup.direct_transfer,
        options=setup.options,
        create_ledger=create_ledger,
    )
    if "direct_transfer" in errors:
        raise InvalidInput(
            f"{setup.get_package_display()} has no direct transfer; clear Direct Transfer, "
            "or choose a package that has one.",
            fields=errors,
        )
    if errors:
        raise InvalidInput("The setup has errors; correct the fields listed.", fields=errors)


def _check_default_accounts(
    value: Any, errors: dict[str, list[str]]
) -> dict[str, GLAccount | None]:
    if not isinstance(value, dict):
        errors.setdefault("default_accounts", []).append(
            "Give an object of GL account type to GL account id."
        )
        return {}
    accounts: dict[str, GLAccount | None] = {}
    for account_type, account in value.items():
        field = f"default_accounts.{account_type}"
        if account_type not in GLAccountType.values:
            errors.setdefault(field, []).append(
                f"Not a GL account type; use one of: {', '.join(GLAccountType.values)}."
            )
        elif account is not None and (not isinstance(account, GLAccount) or account.pk is None):
            errors.setdefault(field, []).append("Give a saved GL account, or null.")
        else:
            accounts[account_type] = account
    return accounts


def options_after(
    setup: AccountingSetup, *, direct_transfer: bool, options: Any = UNSET
) -> tuple[Any, Any]:
    """The (options, saved_options) the setup holds once Direct Transfer is set to
    `direct_transfer` with `options` given (UNSET: not given). Clearing it sets the
    held options aside (the given ones become the new options); ticking it again
    brings the set-aside ones back under the options given or held, as the reference
    expects, whatever else is set in the same save (an export option, say)."""
    held = setup.options if options is UNSET else options
    if direct_transfer == setup.direct_transfer:
        return held, setup.saved_options
    if not direct_transfer:
        if not setup.options:
            return held, setup.saved_options
        return (options if options is not UNSET else {}), setup.options
    saved = setup.saved_options
    if isinstance(saved, dict) and saved and isinstance(held, dict):
        return {**saved, **held}, {}
    return held, saved


@transaction.atomic
def accounting_setup_update(
    *,
    actor: AbstractBaseUser | None,
    package: str = UNSET,
    direct_transfer: bool = UNSET,
    export_format: str = UNSET,
    options: dict[str, Any] = UNSET,
    default_accounts: dict[str, GLAccount | None] = UNSET,
    create_ledger: bool = False,
    paid_invoice_status: str = UNSET,
) -> AccountingSetup:
    """Change the setup; arguments left out stay as they are.

    Clearing Direct Transfer moves the current options into `saved_options` (for
    `accounting_setup_restore_options`) and clears them; ticking it again puts the
    saved ones back, under the options given in the same call (or held now): an
    option given wins, every other saved option returns. `default_accounts` maps a GL
    account type to its default account (None removes the default). `create_ledger`:
    a beancount ledger that does not exist yet is made, empty (otherwise refused).
    `paid_invoice_status`: the name of the closed invoice status a fully paid invoice
    moves to when payments come back ("" for none)."""
    errors: dict[str, list[str]] = {}
    if package is not UNSET:
        _check_choice(package, Package, "package", errors)
    if export_format is not UNSET:
        _check_choice(export_format, ExportFormat, "export_format", errors)
    if direct_transfer is not UNSET and not isinstance(direct_transfer, bool):
        errors.setdefault("direct_transfer", []).append("Give true or false.")
    accounts = (
        _check_default_accounts(default_accounts, errors) if default_accounts is not UNSET else {}
    )
    if paid_invoice_status is not UNSET:
        if not isinstance(paid_invoice_status, str):
            errors.setdefault("paid_invoice_status", []).append("Give a status name, or empty.")
        else:
            paid_invoice_status = paid_invoice_status.strip()
            refusal = paid_invoice_status and payments.paid_status_refusal(paid_invoice_status)
            if refusal:
                errors.setdefault("paid_invoice_status", []).append(refusal)
    if errors:
        raise InvalidInput("The setup has errors; correct the fields listed.", fields=errors)

    setup = _lock_setup()
    if paid_invoice_status is not UNSET:
        setup.paid_invoice_status = paid_invoice_status
    before = _state(setup)
    if package is not UNSET:
        setup.package = package
    if export_format is not UNSET:
        setup.export_format = export_format
    if direct_transfer is not UNSET:
        setup.options, setup.saved_options = options_after(
            setup, direct_transfer=direct_transfer, options=options
        )
        setup.direct_transfer = direct_transfer
    elif options is not UNSET:
        setup.options = options
    if options is not UNSET or any(
        before[name] != getattr(setup, name)
        for name in ("package", "export_format", "direct_transfer")
    ):
        # Only a change that concerns the options checks them: an old row's options do
        # not stop, say, setting a default account.
        _refuse_errors(setup, create_ledger=create_ledger)
        if (
            create_ledger
            and setup.package == "beancount"
            and _ledger_needed(setup.package, setup.direct_transfer, setup.options)
        ):
            _create_empty_ledger(setup.options["ledger_path"])
    setup.save()
    for account_type, account in accounts.items():
        if account is None:
            DefaultGLAccount.objects.filter(type=account_type).delete()
        else:
            DefaultGLAccount.objects.update_or_create(
                type=account_type, defaults={"gl_account": account}
            )
    changes = _changes(before, _state(setup))
    if changes:
        _audit(actor, changes)
    return setup


@transaction.atomic
def accounting_setup_restore_options(*, actor: AbstractBaseUser | None) -> AccountingSetup:
    """Put back the options that clearing Direct Transfer saved."""
    setup = _lock_setup()
    if not setup.saved_options:
        raise ApplicationError(
            "There are no saved options to restore: they are saved when Direct Transfer is "
            "cleared, and none were saved since.",
            code="invalid_transition",
        )
    before = _state(setup)
    setup.options = setup.saved_options
    setup.saved_options = {}
    _refuse_errors(setup)
    setup.save(update_fields=["options", "saved_options", "updated_at"])
    _audit(actor, _changes(before, _state(setup)))
    return setup


def accounting_setup_test_connection() -> dict[str, Any]:
    """Open the package the setup's direct transfer writes to, as a transfer would, and
    report what was found there (and, for a GnuCash book, which GL accounts it lacks).
    Changes nothing. A package without direct transfer, or a setup or package the
    connector cannot use, is an ApplicationError naming the problem and the way out."""
    setup = selectors.accounting_setup()
    if not has_connector(setup.package):
        raise ApplicationError(
            f"{setup.get_package_display()} has no direct transfer, so there is no "
            "connection to test; choose beancount or GnuCash to send directly.",
            code="validation_error",
            status_code=400,
            extra={"fields": {"package": [NO_DIRECT_TRANSFER]}},
        )
    connector = get_connector(setup.package, setup.options)
    assert connector is not None, "the package has a connector (checked above)"
    gl_accounts = GLAccount.objects.order_by("number").values_list("number", "name")
    report = connector.test_connection(list(gl_accounts))
    if setup.package == "xero":
        # The name the setup screen shows beside the connection, as Xero now answers it.
        XeroConnection.objects.filter(pk=1).update(
            organisation_name=report["found"].get("organisation", "")
        )
    return {"package": setup.package, **report}


def _secret_state(token: str) -> str:
    return "set" if token else "not set"


@transaction.atomic
def accounting_setup_xero_credentials(
    *, actor: AbstractBaseUser | None, client_id: str, client_secret: str
) -> XeroConnection:
    """Store the client id and secret of the PSA's Xero app (a custom connection),
    audited: the client id as given, the secret only as "set" (it is never shown back
    nor written anywhere but encrypted in the connection)."""
    before = XeroConnection.objects.filter(pk=1).first()
    connection = xero_connect(client_id=client_id, client_secret=client_secret)
    _audit(
        actor,
        {
            "xero_client_id": {
                "before": before.client_id if before else "",
                "after": connection.client_id,
            },
            "xero_client_secret": {
                "before": _secret_state(before.client_secret if before else ""),
                "after": "set (new)",
            },
        },
    )
    return connection


def xero_connection_state() -> dict[str, Any]:
    """What the setup screen shows of the Xero connection: never a secret, only whether
    it is set."""
    connection = XeroConnection.objects.filter(pk=1).first()
    if connection is None:
        return {"client_id": "", "secret": "not set", "organisation": "", "auth": ""}
    return {
        "client_id": connection.client_id,
        "secret": _secret_state(connection.client_secret),
        "organisation": connection.organisation_name,
        "auth": connection.get_auth_display(),
    }
