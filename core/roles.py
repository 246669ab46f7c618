"""The three roles, as groups with model permissions for each workflow action."""

STAFF = "Staff"
APPROVER = "Approver"
FINANCE = "Finance"

_EXPENSE_WORK = [
    "expenses.add_expensesheet",
    "expenses.change_expensesheet",
    "expenses.view_expensesheet",
    "expenses.add_expenseentry",
    "expenses.change_expenseentry",
    "expenses.view_expenseentry",
    "expenses.view_expensetype",
    "psa.view_company",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    STAFF: _EXPENSE_WORK,
    APPROVER: [*_EXPENSE_WORK, "expenses.approve_expensesheet"],
    FINANCE: [
        *_EXPENSE_WORK,
        "invoicing.add_invoice",
        "invoicing.change_invoice",
        "invoicing.view_invoice",
        "invoicing.add_invoicestatus",
        "invoicing.change_invoicestatus",
        "invoicing.view_invoicestatus",
        "procurement.add_purchaseorder",
        "procurement.change_purchaseorder",
        "procurement.view_purchaseorder",
        "procurement.add_purchaseorderline",
        "procurement.change_purchaseorderline",
        "procurement.view_purchaseorderline",
        "expenses.add_expensetype",
        "expenses.change_expensetype",
        "psa.add_company",
        "psa.change_company",
        "accounting.view_glbatch",
        "accounting.transfer_glbatch",
        "accounting.unbatch_record",
        "accounting.close_glbatch",
        "accounting.delete_glbatch",
        "accounting.add_glaccount",
        "accounting.change_glaccount",
        "accounting.view_glaccount",
        "accounting.add_taxcode",
        "accounting.change_taxcode",
        "accounting.view_taxcode",
        "accounting.change_accountingsetup",
        "accounting.view_accountingsetup",
        "accounting.add_defaultglaccount",
        "accounting.change_defaultglaccount",
        "accounting.view_defaultglaccount",
        "accounting.view_auditevent",
        "accounting.view_transferlog",
    ],
}


def acts_for_everyone(user) -> bool:
    """Finance works on every member's records (docs/api.md, "Authentication and roles");
    Staff and Approvers create and edit their own."""
    if user.is_superuser:
        return True
    cached = getattr(user, "_psa_is_finance", None)
    if cached is None:
        cached = user.groups.filter(name=FINANCE).exists()
        user._psa_is_finance = cached
    return cached


def sees_every_expense(user) -> bool:
    """Finance and Approvers see every member's expense sheets and entries (an Approver,
    to approve them); Staff see their own."""
    return acts_for_everyone(user) or user.has_perm("expenses.approve_expensesheet")
