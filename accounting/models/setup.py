"""The accounting package setup: GL accounts and their types, tax codes, the
packages and export formats, the setup row and the default GL accounts."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class GLAccountType(models.TextChoices):
    ACCOUNTS_RECEIVABLE = "accounts_receivable", "Accounts receivable"
    INCOME = "income", "Income"
    SALES_TAX = "sales_tax", "Sales tax payable"
    ACCOUNTS_PAYABLE = "accounts_payable", "Accounts payable"
    EXPENSE = "expense", "Expense"
    INVENTORY = "inventory", "Inventory"
    FREIGHT = "freight", "Freight"
    REIMBURSEMENT = "reimbursement", "Employee reimbursement"


# Where each type of GL account sits among a ledger's roots (what it owns, owes, earns
# and spends): every type has one, and a new type gets its root here.
GL_ACCOUNT_ROOTS: dict[str, str] = {
    GLAccountType.ACCOUNTS_RECEIVABLE: "Assets",
    GLAccountType.INVENTORY: "Assets",
    GLAccountType.ACCOUNTS_PAYABLE: "Liabilities",
    GLAccountType.SALES_TAX: "Liabilities",
    GLAccountType.REIMBURSEMENT: "Liabilities",
    GLAccountType.INCOME: "Income",
    GLAccountType.EXPENSE: "Expenses",
    GLAccountType.FREIGHT: "Expenses",
}


class GLAccount(models.Model):
    number = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=30, choices=GLAccountType.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["number"]
        verbose_name = "GL account"

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class TaxCode(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    rate = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Percent, for example 8.25.",
    )
    gl_account = models.ForeignKey(GLAccount, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=100), name="tax_code_rate_percent"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.rate.normalize()}%)"


class Package(models.TextChoices):
    QUICKBOOKS_DESKTOP = "quickbooks_desktop", "QuickBooks Desktop"
    QUICKBOOKS_ONLINE = "quickbooks_online", "QuickBooks Online"
    XERO = "xero", "Xero"
    BEANCOUNT = "beancount", "Beancount ledger"
    GNUCASH = "gnucash", "GnuCash book"
    OTHER = "other", "Other"


class ExportFormat(models.TextChoices):
    IIF = "iif", "QuickBooks Desktop IIF"
    QUICKBOOKS_ONLINE_CSV = "quickbooks_online_csv", "QuickBooks Online CSV"
    XERO_CSV = "xero_csv", "Xero CSV"
    GL_JOURNAL_CSV = "gl_journal_csv", "GL journal CSV"


class AccountingSetup(models.Model):
    """The accounting package setup table: one row."""

    package = models.CharField(max_length=30, choices=Package.choices, default=Package.OTHER)
    direct_transfer = models.BooleanField(default=False)
    export_format = models.CharField(
        max_length=30, choices=ExportFormat.choices, default=ExportFormat.GL_JOURNAL_CSV
    )
    options = models.JSONField(default=dict, blank=True)
    # What `options` held before Direct Transfer was cleared, so one action restores it.
    saved_options = models.JSONField(default=dict, blank=True)
    # The invoice status a fully paid invoice moves to when payments come back (the
    # name of a closed status); empty: payments change no status.
    paid_invoice_status = models.CharField(
        "status for fully paid invoices", max_length=50, blank=True, default="", db_default=""
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "accounting package setup"
        verbose_name_plural = "accounting package setup"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="accounting_setup_single_row")
        ]

    def __str__(self) -> str:
        return f"{self.get_package_display()} ({'direct' if self.direct_transfer else 'file'})"


class DefaultGLAccount(models.Model):
    """The account a GL line uses for a type when the record names none."""

    type = models.CharField(max_length=30, choices=GLAccountType.choices, unique=True)
    gl_account = models.ForeignKey(GLAccount, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["type"]
        verbose_name = "default GL account"

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.gl_account}"
