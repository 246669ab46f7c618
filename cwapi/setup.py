"""The accounting package setup through ConnectWise's AccountingPackageSetup (read, PUT,
PATCH with `[{op, path, value}]`), and the packages.

Writable through this API: `accountingPackage` (by id or identifier),
`directTransferFlag`, and `invoiceFormat` / `expenseFormat` (the product has one export
format for both). The other flags say what the product always does; a request that
would change them is refused, naming the field."""

from typing import Any

from accounting import selectors
from accounting.models import ExportFormat, Package
from accounting.services.setup import accounting_setup_update
from cwapi.errors import invalid
from cwapi.listing import Context
from cwapi.shapes import info, reference

SETUP_ID = 1
# What the product always does, as ConnectWise's flags.
FIXED = {
    "includeInvoicesFlag": True,
    "includeExpensesFlag": True,
    "includeItemsFlag": True,
    "transferExpensesAsBillFlag": False,
    "suppressMemoFlag": False,
    "syncPaymentInfoFlag": False,
    "includeSalesTaxFlag": True,
}
WRITABLE = ("accountingPackage", "directTransferFlag", "invoiceFormat", "expenseFormat")
READ_ONLY = ("id", "_info")


def packages() -> list[dict[str, Any]]:
    return [
        {"id": index + 1, "identifier": value, "name": label}
        for index, (value, label) in enumerate(Package.choices)
    ]


def _package(value: Any) -> str:
    """A package given by reference (`{id}` or `{identifier}`), id or identifier."""
    if isinstance(value, dict):
        value = value.get("identifier", value.get("id"))
    for package in packages():
        if value in (package["id"], package["identifier"]) and not isinstance(value, bool):
            return package["identifier"]
    raise invalid(
        f"accountingPackage: {value!r} is not a package; use one of "
        f"{', '.join(p['identifier'] for p in packages())} (finance/accountingPackages).",
        field="accountingPackage",
        resource="accountingPackageSetup",
    )


def setup_model(context: Context) -> dict[str, Any]:
    setup = selectors.accounting_setup()
    package = next(p for p in packages() if p["identifier"] == setup.package)
    return {
        "id": SETUP_ID,
        "accountingPackage": {
            **package,
            "_info": reference(context.base, "accountingPackage", package["id"])["_info"],
        },
        "directTransferFlag": setup.direct_transfer,
        **{name: value for name, value in FIXED.items() if name.startswith("include")},
        "transferExpensesAsBillFlag": FIXED["transferExpensesAsBillFlag"],
        "invoiceFormat": setup.export_format,
        "expenseFormat": setup.export_format,
        "suppressMemoFlag": FIXED["suppressMemoFlag"],
        "syncPaymentInfoFlag": FIXED["syncPaymentInfoFlag"],
        "includeSalesTaxFlag": FIXED["includeSalesTaxFlag"],
        "_info": info(setup.updated_at),
    }


def _write(actor, wanted: dict[str, Any], context: Context) -> dict[str, Any]:
    current = setup_model(context)
    for name, value in wanted.items():
        if name in FIXED:
            if value != FIXED[name]:
                raise invalid(
                    f"{name} is always {str(FIXED[name]).lower()} in this product and cannot "
                    "be changed.",
                    field=name,
                    resource="accountingPackageSetup",
                )
        elif name in READ_ONLY:
            continue
        elif name not in WRITABLE:
            raise invalid(
                f"{name} is not a field of accountingPackageSetup.",
                field=name,
                resource="accountingPackageSetup",
            )
    changes: dict[str, Any] = {}
    if "accountingPackage" in wanted:
        package = _package(wanted["accountingPackage"])
        if package != current["accountingPackage"]["identifier"]:
            changes["package"] = package
    if "directTransferFlag" in wanted:
        if not isinstance(wanted["directTransferFlag"], bool):
            raise invalid("directTransferFlag must be true or false.", field="directTransferFlag")
        if wanted["directTransferFlag"] != current["directTransferFlag"]:
            changes["direct_transfer"] = wanted["directTransferFlag"]
    for name in ("invoiceFormat", "expenseFormat"):
        if name in wanted and not isinstance(wanted[name], str):
            raise invalid(f"{name} must be the name of an export format.", field=name)
    formats = {wanted[name] for name in ("invoiceFormat", "expenseFormat") if name in wanted}
    if len(formats) > 1:
        raise invalid(
            "invoiceFormat and expenseFormat must be the same: the product has one export "
            "format for every kind.",
            field="expenseFormat",
        )
    if formats:
        export_format = formats.pop()
        if export_format not in ExportFormat.values:
            raise invalid(
                f"invoiceFormat: choose one of {', '.join(ExportFormat.values)}.",
                field="invoiceFormat",
            )
        if export_format != current["invoiceFormat"]:
            changes["export_format"] = export_format
    if changes:
        accounting_setup_update(actor=actor, **changes)
    return setup_model(context)


def setup_put(actor, data: Any, context: Context) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise invalid("The body must be an accountingPackageSetup object.")
    return _write(actor, data, context)


def setup_patch(actor, operations: Any, context: Context) -> dict[str, Any]:
    """`[{"op": "replace", "path": "directTransferFlag", "value": true}, ...]` (ConnectWise
    takes `path` with or without a leading slash; `add` is `replace` on an object)."""
    if not isinstance(operations, list) or not operations:
        raise invalid('The body must be a list of {"op", "path", "value"} operations.')
    wanted: dict[str, Any] = {}
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict) or set(operation) - {"op", "path", "value"}:
            raise invalid(f"Operation {index + 1} must be an object of op, path and value.")
        op = str(operation.get("op", "")).lower()
        path = str(operation.get("path", "")).strip("/")
        if op not in ("replace", "add"):
            raise invalid(
                f"Operation {index + 1}: op {op!r} is not supported; use replace.", field="op"
            )
        if "value" not in operation:
            raise invalid(f"Operation {index + 1} has no value.", field="value")
        name = path.split("/")[0]
        if name == "accountingPackage" and "/" in path:
            wanted[name] = {path.split("/", 1)[1]: operation["value"]}
        else:
            wanted[name or "(empty path)"] = operation["value"]
    return _write(actor, wanted, context)
