"""Input of the Procurement screens. Forms check what was typed; the purchase order
services decide what may change."""

from django import forms
from django.db.models import Q

from accounting.door import GLAccount, GLAccountType, TaxCode
from core.listing import RangeFilterForm
from core.web import ReadOnceModelChoiceField
from procurement.models import POStatus


def accounts_of(account_type: str, field: str, form: forms.Form) -> None:
    """Offer only active accounts of the type the record posts to, and the account the
    record holds now (so that an account changed since stays shown)."""
    current = form.initial.get(field)
    current_id = getattr(current, "pk", current)
    wanted = Q(is_active=True, type=account_type)
    if current_id:
        wanted |= Q(pk=current_id)
    form.fields[field].queryset = GLAccount.objects.filter(wanted)  # type: ignore[attr-defined]


class PurchaseOrderSearchForm(RangeFilterForm):
    number = forms.CharField(
        required=False, label="PO number", widget=forms.TextInput(attrs={"type": "search"})
    )
    vendor = forms.CharField(
        required=False, label="Vendor", widget=forms.TextInput(attrs={"type": "search"})
    )
    status = forms.ChoiceField(
        required=False, label="Status", choices=[("", "Any status"), *POStatus.choices]
    )
    freight_gl_batch = forms.CharField(
        required=False,
        label="Freight GL batch",
        widget=forms.TextInput(attrs={"type": "search"}),
    )


class PurchaseOrderForm(forms.Form):
    status = forms.ChoiceField(
        label="Status",
        choices=POStatus.choices,
        help_text="Closing makes the freight ready for accounting.",
    )
    freight_amount = forms.DecimalField(
        max_digits=20, decimal_places=2, min_value=0, label="Freight amount"
    )
    freight_gl_account = ReadOnceModelChoiceField(
        queryset=GLAccount.objects.filter(is_active=True),
        required=False,
        empty_label="Default freight account",
        label="Freight GL account",
    )
    tax_code = ReadOnceModelChoiceField(
        queryset=TaxCode.objects.all(), required=False, empty_label="No tax", label="Tax code"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        accounts_of(GLAccountType.FREIGHT, "freight_gl_account", self)


class ProductLineForm(forms.Form):
    description = forms.CharField(max_length=500, label="Description")
    quantity = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0.01, label="Quantity")
    unit_cost = forms.DecimalField(max_digits=20, decimal_places=2, min_value=0, label="Unit cost")
    gl_account = ReadOnceModelChoiceField(
        queryset=GLAccount.objects.filter(is_active=True),
        required=False,
        empty_label="Default inventory account",
        label="GL account",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        accounts_of(GLAccountType.INVENTORY, "gl_account", self)


class ClosedBoxForm(forms.Form):
    closed = forms.BooleanField(required=False, label="Closed")


class ReceiveForm(forms.Form):
    # Filled in with today, so the date to be recorded is in view; never assumed.
    received_date = forms.DateField(
        required=True,
        label="Received on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The day the goods arrived (today unless you change it).",
        error_messages={"required": "Give the day the goods arrived."},
    )
