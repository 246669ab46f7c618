"""The accounting package setup through ConnectWise's AccountingPackageSetup (read, PUT,
PATCH with `[{op, path, value}]`), and the packages.

Writable through this API: `accountingPackage` (by the id of
`finance/accountingPackages`, by the product's identifier there, or by ConnectWise's
code where the product has that package) and `directTransferFlag`. The package's
`identifier` in the setup is ConnectWise's code (`QB99`, or `Other` for a package
ConnectWise has no code for; its `name` says which). The other flags and the two formats
say what the product always does; a request that would change them is refused, naming
the field. The export file format has no ConnectWise field: it is chosen in the
product's own setup."""

from typing import Any

from accounting import selectors
from accounting.models import Package
from accounting.services.setup import accounting_setup_update
from cwapi.errors import invalid
from cwapi.listing import Context
from cwapi.shapes import info, reference

SETUP_ID = 1
# What the product always does, as ConnectWise's flags.
FIXED: dict[str, bool | str] = {
    "includeInvoicesFlag": True,
    "includeExpensesFlag": True,
    "includeItemsFlag": True,
    "transferExpensesAsBillFlag": False,
    "suppressMemoFlag": False,
    "syncPaymentInfoFlag": False,
    "includeSalesTaxFlag": True,
    # Every record with its own lines (ConnectWise's `Detailed` invoices, `Default`
    # expenses): the product summarizes nothing.
    "invoiceFormat": "Detailed",
    "expenseFormat": "Default",
}
WRITABLE = ("accountingPackage", "directTransferFlag")
# ConnectWise's code of each package it has one for; every other package is `Other`.
CW_PACKAGE_CODES: dict[str, str] = {Package.QUICKBOOKS_DESKTOP: "QB99", Package.OTHER: "Other"}
OTHER_CODE = "Other"
READ_ONLY = ("id", "_info")


def packages() -> list[dict[str, Any]]:
    return [
        {"id": index + 1, "identifier": value, "name": label}
        for index, (value, label) in enumerate(Package.choices)
    ]


def cw_package_code(package: str) -> str:
    return CW_PACKAGE_CODES.get(package, OTHER_CODE)


def _package(value: Any) -> str:
    """A package given by reference (`{id}` or `{identifier}`; the id first, as
    ConnectWise's `Other` names several), id, identifier or ConnectWise code."""
    if isinstance(value, dict):
        value = value["id"] if "id" in value else value.get("identifier")
    for package in packages():
        if isinstance(value, bool):
            break
        if value in (package["id"], package["identifier"]):
            return package["identifier"]
    for package_value, code in CW_PACKAGE_CODES.items():
        if isinstance(value, str) and value == code:
            return package_value
    raise invalid(
        f"accountingPackage: {value!r} is not a package; use one of "
        f"{', '.join(p['identifier'] for p in packages())} (finance/accountingPackages), "
        f"by id or identifier, or {' or '.join(CW_PACKAGE_CODES.values())}.",
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
            "identifier": cw_package_code(package["identifier"]),
            "_info": reference(context.base, "accountingPackage", package["id"])["_info"],
        },
        "directTransferFlag": setup.direct_transfer,
        **{name: value for name, value in FIXED.items() if name.startswith("include")},
        "transferExpensesAsBillFlag": FIXED["transferExpensesAsBillFlag"],
        "invoiceFormat": FIXED["invoiceFormat"],
        "expenseFormat": FIXED["expenseFormat"],
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
                shown = FIXED[name] if isinstance(FIXED[name], str) else str(FIXED[name]).lower()
                raise invalid(
                    f"{name} is always {shown} in this product and cannot be changed"
                    + (
                        " (the export file format is chosen in the product's accounting setup)."
                        if name.endswith("Format")
                        else "."
                    ),
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
        if package != selectors.accounting_setup().package:
            changes["package"] = package
    if "directTransferFlag" in wanted:
        if not isinstance(wanted["directTransferFlag"], bool):
            raise invalid("directTransferFlag must be true or false.", field="directTransferFlag")
        if wanted["directTransferFlag"] != current["directTransferFlag"]:
            changes["direct_transfer"] = wanted["directTransferFlag"]
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
