"""The options of the accounting package setup, declared: each package's direct-transfer
options and each export format's options, with their type, default and help text.

This is the one place options are defined. Saving the setup checks the options against
the chosen package and export format (`option_errors`: a field error per option, keyed
`options.<name>`, and options neither declares are refused); a connector or an export
writer reads its own options through `direct_transfer_options` / `export_options`,
which answer an ApplicationError in the product's words when a setup row saved before
these checks holds something it cannot use, so that nothing fails on what setup holds.
A setup screen can render each `Option` as a typed field.

Pure: no database; the ledger's disk check is the setup services' (it needs the disk).
"""

import re
from dataclasses import dataclass
from typing import Any

from accounting.connectors.files import name_problem
from core.errors import ApplicationError

TEXT = "text"  # one line of text
CHOICE = "choice"  # one of `choices`
MAPPING = "mapping"  # an object of text to text
CURRENCY = "currency"  # a currency code such as USD
LEDGER_NAME = "ledger_name"  # a file name inside the ledger folder (LEDGER_ROOT)

CURRENCY_CODE = re.compile(r"^[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]$")
MAX_TEXT = 200
MAX_MAPPING_ENTRIES = 1000


@dataclass(frozen=True)
class Option:
    name: str
    kind: str
    label: str
    help: str
    default: Any = None
    choices: tuple[str, ...] = ()
    # Needed whenever Direct Transfer is on for the package that declares it.
    required_for_direct_transfer: bool = False
    # Needed for Direct Transfer only while another option has a value: (name, value).
    required_when: tuple[str, Any] | None = None


LEDGER_PATH = Option(
    "ledger_path",
    LEDGER_NAME,
    "Ledger file",
    "The beancount ledger's name inside the ledger folder the server's operator set "
    "(LEDGER_ROOT), for example books/main.beancount. With Direct Transfer on, the "
    "ledger must exist, unless a new empty one is asked for (its folders are then made).",
    required_for_direct_transfer=True,
)
BEANCOUNT_CURRENCY = Option(
    "currency",
    CURRENCY,
    "Currency",
    "The ledger's operating currency and the currency of every amount, for example USD.",
    default="USD",
)
GNUCASH_BOOK_DATABASE = Option(
    "book_database",
    CHOICE,
    "Book kept in",
    "file: a SQLite book file inside the ledger folder (ledger_path); postgresql: the "
    "book in the PostgreSQL database whose connection the server's operator set "
    "(GNUCASH_DATABASE_URL; never stored in the setup).",
    default="file",
    choices=("file", "postgresql"),
)
GNUCASH_BOOK_PATH = Option(
    "ledger_path",
    LEDGER_NAME,
    "Book file",
    "The GnuCash book's (SQLite) name inside the ledger folder the server's operator set "
    "(LEDGER_ROOT), for example books/main.gnucash. The book is made in GnuCash, with the "
    "accounts the GL accounts map to (by code or full name); a transfer never creates "
    "a book or an account.",
    required_when=("book_database", "file"),
)
EXPENSES_AS = Option(
    "expenses_as",
    CHOICE,
    "Expenses as",
    "How expenses, freight and products go into QuickBooks Desktop: bills of the vendor "
    "(or employee), or general journal entries.",
    default="bill",
    choices=("bill", "general_journal"),
)
QBO_INVOICES_AS = Option(
    "qbo_invoices_as",
    CHOICE,
    "Layout",
    "journal: every record as a journal entry (any batch); invoice: invoices as "
    "QuickBooks invoices (a batch of invoices only).",
    default="journal",
    choices=("journal", "invoice"),
)
QBO_DATE_FORMAT = Option(
    "qbo_date_format",
    CHOICE,
    "Date format",
    "mdy: MM/DD/YYYY; dmy: DD/MM/YYYY.",
    default="mdy",
    choices=("mdy", "dmy"),
)
QBO_ITEMS = Option(
    "qbo_items",
    MAPPING,
    "Items",
    "The QuickBooks Product/Service of each income account, by GL account number (for "
    'example {"4000": "Consulting"}); an account not listed uses its own name.',
    default={},
)
QBO_TAX_CODES = Option(
    "qbo_tax_codes",
    MAPPING,
    "Tax codes",
    'The QuickBooks tax code of each PSA tax code (for example {"STATE": "TAX"}); a '
    "code not listed is written as it is.",
    default={},
)
XERO_TAX_TYPE = Option(
    "xero_tax_type",
    TEXT,
    "Tax type",
    "The Xero tax rate written on every row; a zero rate, as the PSA has already computed the tax.",
    default="Tax Exempt",
)
XERO_DATE_FORMAT = Option(
    "xero_date_format",
    CHOICE,
    "Date format",
    "dmy: DD/MM/YYYY; us: MM/DD/YYYY.",
    default="dmy",
    choices=("dmy", "us"),
)
XERO_CURRENCY = Option(
    "currency",
    CURRENCY,
    "Currency",
    "The Currency column of every row, for example NZD; left empty when not set.",
)
XERO_STATUS = Option(
    "xero_status",
    CHOICE,
    "Status in Xero",
    "AUTHORISED: invoices and bills are approved as they arrive (a re-send voids them); "
    "DRAFT: they wait for approval in Xero (a re-send deletes them).",
    default="AUTHORISED",
    choices=("AUTHORISED", "DRAFT"),
)
XERO_API_TAX_TYPE = Option(
    "xero_api_tax_type",
    TEXT,
    "Tax type",
    "The Xero tax type code on every line (for example NONE, EXEMPTOUTPUT): a zero "
    "rate, as the PSA has already computed the tax, which is a line of its own.",
    default="NONE",
)
XERO_TAX_TYPES = Option(
    "xero_tax_types",
    MAPPING,
    "Tax types",
    'The Xero tax type code of each PSA tax code (for example {"EXEMPT": '
    '"EXEMPTOUTPUT"}); a code not listed takes the tax type above.',
    default={},
)

# Each package's direct-transfer options (a package not listed has no direct transfer).
DIRECT_TRANSFER_OPTIONS: dict[str, tuple[Option, ...]] = {
    "beancount": (LEDGER_PATH, BEANCOUNT_CURRENCY),
    "gnucash": (GNUCASH_BOOK_DATABASE, GNUCASH_BOOK_PATH),
    # The connection itself (client id and secret, the organisation) is not an option:
    # its secrets are kept encrypted, apart (accounting.models.XeroConnection).
    "xero": (XERO_STATUS, XERO_API_TAX_TYPE, XERO_TAX_TYPES, XERO_CURRENCY),
}
# Each export format's options.
EXPORT_FORMAT_OPTIONS: dict[str, tuple[Option, ...]] = {
    "iif": (EXPENSES_AS,),
    "quickbooks_online_csv": (QBO_INVOICES_AS, QBO_DATE_FORMAT, QBO_ITEMS, QBO_TAX_CODES),
    "xero_csv": (XERO_TAX_TYPE, XERO_DATE_FORMAT, XERO_CURRENCY),
    "gl_journal_csv": (),
}


def declared_options(package: str, export_format: str) -> dict[str, Option]:
    """The options a setup of this package and export format may hold, by name."""
    declared: dict[str, Option] = {}
    for option in (
        *DIRECT_TRANSFER_OPTIONS.get(package, ()),
        *EXPORT_FORMAT_OPTIONS.get(export_format, ()),
    ):
        declared.setdefault(option.name, option)
    return declared


def value_problem(option: Option, value: Any, *, strict: bool = True) -> str | None:
    """What is wrong with `value` for `option`; None when nothing is. null means the
    option's default. Not `strict` (an export writer reading a row): only the type
    counts, as the writers make any text safe to write."""
    if value is None:
        return None
    if option.kind == LEDGER_NAME:
        return name_problem(value)
    if option.kind == CURRENCY:
        if not isinstance(value, str) or (strict and not CURRENCY_CODE.match(value)):
            return "Give a currency code in capitals, for example USD."
        return None
    if option.kind == CHOICE:
        if value not in option.choices:
            return f"Choose one of: {', '.join(option.choices)}."
        return None
    if option.kind == TEXT:
        return _text_problem(value, strict=strict)
    if option.kind == MAPPING:
        if not isinstance(value, dict):
            return 'Give an object of names to names, for example {"4000": "Consulting"}.'
        if strict and len(value) > MAX_MAPPING_ENTRIES:
            return f"Give at most {MAX_MAPPING_ENTRIES} entries."
        for key, item in value.items():
            problem = _text_problem(key, strict=strict) or _text_problem(item, strict=strict)
            if problem:
                return f"The entry {_shown(key)}: {problem}"
        return None
    raise AssertionError(f"an option of unknown kind {option.kind}")


def _text_problem(value: Any, *, strict: bool = True) -> str | None:
    if not isinstance(value, str):
        return "Give text."
    if not strict:
        return None
    if len(value) > MAX_TEXT:
        return f"Give at most {MAX_TEXT} characters."
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        return "Remove the control characters (line breaks, tabs)."
    return None


def _shown(key: Any) -> str:
    text = str(key)
    return repr(text[:40]) if isinstance(key, str) else text[:40]


def option_errors(
    options: Any, *, package: str, export_format: str, direct_transfer: bool
) -> dict[str, list[str]]:
    """Field errors of the options for a setup of this package, export format and
    Direct Transfer, keyed `options` or `options.<name>`; empty when they are fine."""
    if not isinstance(options, dict):
        return {"options": ["Give the options as an object."]}
    declared = declared_options(package, export_format)
    errors: dict[str, list[str]] = {}
    for name, value in options.items():
        option = declared.get(name)
        if option is None:
            allowed = ", ".join(declared) or "none"
            errors[f"options.{name}"] = [
                f"Not an option of this package and export format; they take: {allowed}."
            ]
            continue
        problem = value_problem(option, value)
        if problem:
            errors[f"options.{name}"] = [problem]
    if direct_transfer:
        declared_here = {option.name: option for option in DIRECT_TRANSFER_OPTIONS.get(package, ())}
        for option in declared_here.values():
            required = option.required_for_direct_transfer
            if option.required_when:
                name, value = option.required_when
                held = options.get(name)
                required = (declared_here[name].default if held is None else held) == value
            if required and options.get(option.name) is None:
                errors.setdefault(f"options.{option.name}", []).append(
                    f"Direct Transfer needs it: {option.help}"
                )
    return errors


def _usable(
    options: Any, declared: tuple[Option, ...], what: str, *, strict: bool
) -> tuple[dict[str, Any], str, dict[str, list[str]]]:
    """The declared options' values (defaults filled in) of a setup row; or, when some
    cannot be used, the sentence naming them and their field errors."""
    if not isinstance(options, dict):
        errors = {"options": ["Give the options as an object."]}
    else:
        errors = {
            f"options.{option.name}": [problem]
            for option in declared
            if (problem := value_problem(option, options.get(option.name), strict=strict))
        }
    if errors:
        names = ", ".join(name.removeprefix("options.") for name in errors)
        sentence = (
            f"The accounting package setup's options cannot be used for {what} ({names}): "
            f"{next(iter(errors.values()))[0]} Correct them in the setup, then retry."
        )
        return {}, sentence, errors
    values = {option.name: option.default for option in declared}
    values.update(
        {
            option.name: options[option.name]
            for option in declared
            if options.get(option.name) is not None
        }
    )
    return values, "", {}


def direct_transfer_options(package: str, options: Any) -> dict[str, Any]:
    """The package's direct-transfer options from a setup row, checked as strictly as
    when saved (the ledger's name above all); an ApplicationError otherwise."""
    declared = DIRECT_TRANSFER_OPTIONS.get(package, ())
    values, sentence, errors = _usable(options, declared, "the direct transfer", strict=True)
    if sentence:
        raise ApplicationError(
            sentence, code="validation_error", status_code=400, extra={"fields": errors}
        )
    return values


def export_options(export_format: str, options: Any) -> dict[str, Any]:
    """The export format's options from a setup row, checked by type (the writer
    makes any text safe); an ExportError otherwise."""
    # Imported here, not at the top: an import cycle. The exporters package imports its
    # writers, which import this module for `export_options`.
    from accounting.exporters.base import ExportError

    declared = EXPORT_FORMAT_OPTIONS.get(export_format, ())
    values, sentence, _ = _usable(options, declared, "the export file", strict=False)
    if sentence:
        raise ExportError(sentence)
    return values
