"""Input of the invoice screens. Forms check what was typed; the invoice services
decide what may change."""

from django import forms

from accounting.door import PAYMENT_STATES, TaxCode
from core.listing import RangeFilterForm
from core.web import ReadOnceModelChoiceField
from invoicing.models import InvoiceStatus


class InvoiceSearchForm(RangeFilterForm):
    number = forms.CharField(
        required=False, label="Invoice number", widget=forms.TextInput(attrs={"type": "search"})
    )
    company = forms.CharField(
        required=False, label="Company", widget=forms.TextInput(attrs={"type": "search"})
    )
    status = forms.ChoiceField(required=False, label="Status")
    gl_batch = forms.CharField(
        required=False, label="GL batch", widget=forms.TextInput(attrs={"type": "search"})
    )
    payment = forms.ChoiceField(
        required=False,
        label="Payment",
        choices=[("", "Any payment"), *PAYMENT_STATES.items()],
    )

    def __init__(self, *args, statuses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "Any status")] + [
            (status.name, status.name) for status in statuses
        ]


class InvoiceForm(forms.Form):
    """The invoice's status, and (while it is editable) its other fields."""

    status = ReadOnceModelChoiceField(
        queryset=InvoiceStatus.objects.all(),
        empty_label=None,
        label="Status",
        help_text="Closed statuses make the invoice ready for accounting.",
    )
    due_date = forms.DateField(
        required=False, label="Due date", widget=forms.DateInput(attrs={"type": "date"})
    )
    tax_code = ReadOnceModelChoiceField(
        queryset=TaxCode.objects.all(), required=False, empty_label="No tax", label="Tax code"
    )

    def __init__(self, *args, details_editable: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].label_from_instance = lambda status: (
            f"{status.name} ({'closed' if status.is_closed else 'open'})"
        )
        if not details_editable:
            for name in ("due_date", "tax_code"):
                self.fields[name].disabled = True


class InvoiceLineForm(forms.Form):
    description = forms.CharField(max_length=500, label="Description")
    quantity = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0.01, label="Quantity")
    unit_price = forms.DecimalField(
        max_digits=20, decimal_places=2, min_value=0, label="Unit price"
    )
    gl_account = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="Income account"
    )
    taxable = forms.BooleanField(required=False, initial=True, label="Taxable")

    def __init__(self, *args, account_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gl_account"].choices = [("", "Default income account"), *account_choices]


InvoiceLineFormSet = forms.formset_factory(InvoiceLineForm, extra=1, can_delete=True)
