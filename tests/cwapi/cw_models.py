"""ConnectWise's finance models (docs/cw-api.md) as strict pydantic models: every
response of the finance API is parsed with them, and an unknown field, a missing one or
a mistyped value fails the test. Written from the contract's field lists, as the
generated clients name them. Each body is also checked against the model of the same
resource in pyconnectwise (generated from ConnectWise's OpenAPI document), strictly: see
`generated`."""

import copy
import json
from typing import Annotated, Literal

from pyconnectwise.models import manage as cw
from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
)

Money = StrictFloat | StrictInt
Date = Annotated[
    str, StringConstraints(strict=True, pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
]


GLType = Literal[
    "AP",
    "AR",
    "EE",
    "EI",
    "EO",
    "IA",
    "IT",
    "P",
    "PF",
    "R",
    "RA",
    "RD",
    "RE",
    "RP",
    "ST",
    "SD",
    "ET",
    "FT",
    "PT",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Info(Strict):
    lastUpdated: Date | None
    updatedBy: StrictStr


class Ref(Strict):
    id: StrictInt
    identifier: StrictStr | None = None
    name: StrictStr | None = None
    info: dict[str, StrictStr] | None = None
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    def __init__(self, **data):
        if "_info" in data:
            data["info"] = data.pop("_info")
        super().__init__(**data)


class Record(Strict):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)
    info: Info

    def __init__(self, **data):
        if "_info" in data:
            data["info"] = data.pop("_info")
        super().__init__(**data)


class UnpostedInvoice(Record):
    id: StrictInt
    billingLogId: StrictInt
    invoiceNumber: StrictStr
    invoiceType: Literal[
        "Standard", "CreditMemo", "Agreement", "Downpayment", "Miscellaneous", "Progress"
    ]
    invoiceDate: Date
    dueDate: Date | None
    dueDays: StrictStr
    company: Ref
    billToCompany: Ref
    accountNumber: StrictStr
    description: StrictStr
    subTotal: Money
    total: Money
    salesTaxAmount: Money
    taxCode: Ref | None
    currency: Ref | None
    locationId: StrictInt
    departmentId: StrictInt
    dateClosed: Date | None
    createdBy: StrictStr


class UnpostedExpense(Record):
    id: StrictInt
    expenseDetailId: StrictInt
    member: Ref
    company: Ref | None
    dateExpense: Date
    expenseType: Ref
    classification: Literal["NonReimbursable", "Reimbursable", "Personal"]
    glType: GLType
    accountNumber: StrictStr
    creditAccount: StrictStr
    total: Money
    billableAmount: Money
    nonBillableAmount: Money
    currency: Ref | None
    locationId: StrictInt
    departmentId: StrictInt
    dateClosed: Date | None


class UnpostedProcurement(Record):
    id: StrictInt
    unpostedProductId: StrictStr
    procurementType: Literal["Purchase"]
    purchaseOrder: Ref
    purchaseDate: Date
    vendor: Ref
    vendorAccountNumber: StrictStr
    vendorInvoiceNumber: StrictStr
    vendorInvoiceDate: Date | None
    description: StrictStr
    total: Money
    taxTotal: Money
    freightCost: Money
    freightTaxTotal: Money
    taxCode: Ref | None
    currency: Ref | None
    dateClosed: Date | None


class TaxableLevel(Strict):
    id: StrictInt
    taxLevel: StrictInt
    taxCodeXref: StrictStr
    taxAmount: Money


class AccountingBatch(Record):
    id: StrictInt
    batchIdentifier: StrictStr
    exportInvoicesFlag: StrictBool
    exportExpensesFlag: StrictBool
    exportProductsFlag: StrictBool
    closedFlag: StrictBool


class TaxLevel(Strict):
    taxAmount: Money
    taxableAmount: Money
    taxCodeXref: StrictStr
    taxLevel: StrictInt


class TransactionDetail(Strict):
    accountNumber: StrictStr
    description: StrictStr
    memo: StrictStr
    quantity: Money
    itemPrice: Money
    itemCost: Money
    total: Money
    documentDate: Date
    item: Ref | None
    product: Ref | None
    taxableFlag: StrictBool


class Transaction(Strict):
    id: StrictInt
    documentNumber: StrictStr
    documentDate: Date
    documentType: StrictStr
    dueDate: Date | None
    dueDays: StrictInt
    company: Ref
    companyAccountNumber: StrictStr
    accountNumber: StrictStr
    glTypeId: StrictStr
    glClass: StrictStr
    memo: StrictStr
    description: StrictStr
    total: Money
    taxableTotal: Money
    salesTax: Money
    taxCode: Ref | None
    taxGroupRate: Money
    taxLevels: list[TaxLevel]
    glEntryIds: StrictStr
    detail: list[TransactionDetail]


class Expense(Strict):
    id: StrictInt
    documentDate: Date
    documentType: StrictStr
    accountNumber: StrictStr
    apAccountNumber: StrictStr
    member: Ref
    company: Ref | None
    vendorNumber: StrictStr
    total: Money
    memo: StrictStr
    description: StrictStr
    glTypeId: GLType
    periodStartDate: Date
    periodEndDate: Date
    glEntryIds: StrictStr


class PurchaseDetail(Strict):
    id: StrictInt
    accountNumber: StrictStr
    description: StrictStr
    memo: StrictStr
    quantity: Money
    itemCost: Money
    total: Money


class PurchaseTransaction(Strict):
    id: StrictStr
    documentNumber: StrictStr
    documentDate: Date
    vendorNumber: StrictStr
    vendorAccountNumber: StrictStr
    vendorInvoiceNumber: StrictStr
    vendorInvoiceDate: Date | None
    apAccountNumber: StrictStr
    freightAmount: Money
    total: Money
    memo: StrictStr
    purchaseDetail: list[PurchaseDetail]
    glEntryIds: StrictStr


class Customer(Strict):
    company: Ref
    accountNumber: StrictStr
    billingTerms: Ref | None
    billingTermsXref: StrictStr
    dueDays: StrictInt
    taxCode: Ref | None


class Vendor(Strict):
    company: Ref
    vendorNumber: StrictStr
    billingTerms: Ref | None
    dueDays: StrictInt
    taxCode: Ref | None


class ExportSettings(Strict):
    """ConnectWise's GLExportSettings has no fields."""


class GLExport(Strict):
    exportSettings: ExportSettings
    customers: list[Customer]
    vendors: list[Vendor]
    transactions: list[Transaction]
    expenses: list[Expense]
    expenseBills: list[dict]
    purchaseTransactions: list[PurchaseTransaction]
    adjustmentTransactions: list[dict]
    inventoryTransfers: list[dict]


class BatchEntry(Record):
    id: StrictInt
    accountType: StrictStr
    accountNumber: StrictStr
    name: StrictStr
    debit: Money
    credit: Money
    cost: Money
    item: Ref | None
    invoice: Ref | None = None
    expense: Ref | None = None
    purchaseOrder: Ref | None = None
    lineItem: Ref | None = None


class AccountingPackage(Strict):
    id: StrictInt
    identifier: StrictStr
    name: StrictStr
    info: dict[str, StrictStr] | None = None
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    def __init__(self, **data):
        if "_info" in data:
            data["info"] = data.pop("_info")
        super().__init__(**data)


class AccountingPackageSetup(Record):
    id: StrictInt
    accountingPackage: AccountingPackage
    directTransferFlag: StrictBool
    includeInvoicesFlag: StrictBool
    includeExpensesFlag: StrictBool
    includeItemsFlag: StrictBool
    transferExpensesAsBillFlag: StrictBool
    invoiceFormat: Literal["Default", "Condensed", "Detailed"]
    expenseFormat: Literal["Default", "Condensed"]
    suppressMemoFlag: StrictBool
    syncPaymentInfoFlag: StrictBool
    includeSalesTaxFlag: StrictBool


class ErrorEntry(Strict):
    code: StrictStr
    message: StrictStr
    resource: StrictStr
    field: StrictStr


class Error(Strict):
    code: Literal["InvalidObject", "NotFound", "Unauthorized", "Forbidden", "TooManyRequests"]
    message: StrictStr
    errors: list[ErrorEntry] | None = None


class Count(Strict):
    count: StrictInt


class CompanyInfo(Strict):
    CompanyName: StrictStr
    Codebase: StrictStr
    VersionCode: StrictStr
    VersionNumber: StrictStr
    CompanyID: StrictStr
    IsCloud: StrictBool
    SiteUrl: StrictStr


# The resource's model in the client generated from ConnectWise's OpenAPI document. The
# company info of `login/companyinfo` has none there.
GENERATED = {
    UnpostedInvoice: cw.UnpostedInvoice,
    UnpostedExpense: cw.UnpostedExpense,
    UnpostedProcurement: cw.UnpostedProcurement,
    # The three taxableLevels lists share one shape in ConnectWise's document.
    TaxableLevel: cw.UnpostedExpenseTaxableLevel,
    AccountingBatch: cw.AccountingBatch,
    GLExport: cw.GLExport,
    BatchEntry: cw.BatchEntry,
    AccountingPackage: cw.AccountingPackage,
    AccountingPackageSetup: cw.AccountingPackageSetup,
    Error: cw.ErrorResponseMessage,
    Count: cw.Count,
}

# Where the generated model and the contract (docs/cw-api.md) disagree and the contract
# states the field explicitly, the contract wins: these fields are left out of the
# generated check (the hand-written model above still checks them). Where the contract
# is silent, ConnectWise's model wins and nothing is left out. Paths are alias paths,
# `[]` standing for every item of a list.
CONTRACT_WINS: dict[type, tuple[str, ...]] = {
    GLExport: (
        # "expense: `id`, `documentDate`, ..., `periodStartDate`, `periodEndDate`,
        # `glEntryIds`." (the generated GLExportExpense has no `glEntryIds`)
        "expenses/[]/glEntryIds",
        # "purchaseTransaction: `id`, ..., `memo`, `purchaseDetail[]`, `glEntryIds`."
        # (the generated GLExportPurchaseTransaction has no `glEntryIds`)
        "purchaseTransactions/[]/glEntryIds",
    ),
    # "AccountingPackageSetup: `id`, `accountingPackage` (`{id, identifier, name}`), ...,
    # `includeSalesTaxFlag`, `_info`." and "Every record carries `_info`": the generated
    # AccountingPackageSetup has no `_info`.
    AccountingPackageSetup: ("_info",),
}


def _drop(data, path: list[str]):
    """`data` without the field at `path` (in place)."""
    if not path or data is None:
        return
    head, *rest = path
    if head == "[]":
        for item in data if isinstance(data, list) else []:
            _drop(item, rest)
    elif isinstance(data, dict) and head in data:
        if rest:
            _drop(data[head], rest)
        else:
            del data[head]


def _unknown(sent, kept, where: str = "") -> list[str]:
    """The paths of `sent` that the generated model did not keep: fields it does not
    have."""
    if isinstance(sent, dict):
        if not isinstance(kept, dict):
            return [where or "."]
        found = [f"{where}/{key}".lstrip("/") for key in sent if key not in kept]
        for key in sent.keys() & kept.keys():
            found += _unknown(sent[key], kept[key], f"{where}/{key}")
        return found
    if isinstance(sent, list) and isinstance(kept, list):
        pairs = enumerate(zip(sent, kept, strict=True))
        return [path for i, (s, k) in pairs for path in _unknown(s, k, f"{where}[{i}]")]
    return []


def generated(model, data):
    """Checks one body against pyconnectwise's model of the resource, strictly: parsed
    as JSON in strict mode (a string for a number, a number for a string or a flag, a
    value outside an enum fail), and every field sent must be one the model has (its
    models ignore unknown fields, so the fields it parsed are compared with the body)."""
    data = copy.deepcopy(data)
    for path in CONTRACT_WINS.get(model, ()):
        _drop(data, path.split("/"))
    parsed = GENERATED[model].model_validate_json(json.dumps(data), strict=True)
    kept = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
    unknown = _unknown(data, kept)
    assert not unknown, f"{GENERATED[model].__name__} has no field {unknown}"


def parse(model, data, *, many: bool = False):
    """The response body as the model (a list of it with many=True); raises on any
    unknown, missing or mistyped field, by the contract's model and by ConnectWise's
    generated one."""
    if model in GENERATED:
        for item in data if many else [data]:
            generated(model, item)
    if many:
        return TypeAdapter(list[model]).validate_python(data)
    return model.model_validate(data)
