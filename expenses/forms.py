"""Input of the Time & Expense screens. Forms check what was typed; the expense
services decide what may change."""

from django import forms

from core.listing import RangeFilterForm
from core.web import ReadOnceModelChoiceField
from expenses.models import ExpenseType, SheetStatus


class ExpenseEntrySearchForm(RangeFilterForm):
    text = forms.CharField(
        required=False,
        label="Entry or description",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    member = forms.CharField(
        required=False, label="Member", widget=forms.TextInput(attrs={"type": "search"})
    )
    sheet_status = forms.ChoiceField(
        required=False,
        label="Sheet status",
        choices=[("", "Any status"), *SheetStatus.choices],
    )
    gl_batch = forms.CharField(
        required=False, label="GL batch", widget=forms.TextInput(attrs={"type": "search"})
    )


class ExpenseEntryForm(forms.Form):
    date = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    expense_type = ReadOnceModelChoiceField(
        queryset=ExpenseType.objects.all(), empty_label=None, label="Type"
    )
    amount = forms.DecimalField(max_digits=20, decimal_places=2, min_value=0.01, label="Amount")
    description = forms.CharField(max_length=500, label="Description")
    billable = forms.BooleanField(required=False, label="Billable to the client")
