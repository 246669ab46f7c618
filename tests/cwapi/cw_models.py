"""ConnectWise's finance models (docs/cw-api.md) as strict pydantic models: every
response of the finance API is parsed with them, and an unknown field, a missing one or
a mistyped value fails the test. Written from the contract's field lists, as the
generated clients name them."""

from typing import Annotated, Literal

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
    glType: StrictStr
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
    taxCode: StrictStr
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
    glTypeId: StrictStr
    periodStartDate: Date
    periodEndDate: Date
    glEntryIds: StrictStr


class PurchaseDetail(Strict):
    id: StrictInt
    unpostedProductId: StrictStr
    accountNumber: StrictStr
    description: StrictStr
    memo: StrictStr
    quantity: Money
    itemCost: Money
    total: Money
    taxAmount: Money
    glEntryIds: StrictStr


class PurchaseTransaction(Strict):
    id: StrictInt
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
    purchaseOrder: Ref
    purchaseDetail: list[PurchaseDetail]
    glEntryIds: StrictStr


class Customer(Strict):
    company: Ref
    accountNumber: StrictStr
    billingTerms: StrictStr
    dueDays: StrictInt
    taxCode: StrictStr


class Vendor(Strict):
    company: Ref
    vendorNumber: StrictStr
    billingTerms: StrictStr
    dueDays: StrictInt
    taxCode: StrictStr


class ExportSettings(Strict):
    batchIdentifier: StrictStr
    glInterfaceIdentifier: StrictStr
    thruDate: Date | None
    locationId: StrictInt
    summarizeInvoices: Literal["Default", "Condensed", "Detailed"]
    accountingPackage: StrictStr


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
    invoiceFormat: StrictStr
    expenseFormat: StrictStr
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


def parse(model, data, *, many: bool = False):
    """The response body as the model (a list of it with many=True); raises on any
    unknown, missing or mistyped field."""
    if many:
        return TypeAdapter(list[model]).validate_python(data)
    return model.model_validate(data)
