"""Input of the Accounting Interface screens. Forms only check what was typed; the
services decide what is allowed."""

from django import forms
from django.core.exceptions import ValidationError

from accounting.models import GLBatch, TransferMethod
from accounting.selectors import ListFilters

SELECTED = "selected"
MATCHING = "matching"
EVERYTHING = "everything"


class RecordItemsField(forms.Field):
    """Ticked records, each posted as "<type>:<id>" (one checkbox per table row)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        items = []
        for raw in value or []:
            record_type, _, record_id = str(raw).partition(":")
            if not record_type or not record_id.isdigit():
                raise ValidationError(f"'{raw}' is not a record.", code="invalid")
            items.append({"type": record_type, "id": int(record_id)})
        return items


class ListFilterForm(forms.Form):
    """The filters of a list: dates, company or vendor, amounts, text; and its sort."""

    date_from = forms.DateField(
        required=False, label="Date from", widget=forms.DateInput(attrs={"type": "date"})
    )
    thru_date = forms.DateField(
        required=False,
        label="Through date",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    company = forms.CharField(required=False, max_length=100, label="Company or vendor")
    amount_min = forms.DecimalField(
        required=False, label="Amount from", max_digits=20, decimal_places=2
    )
    amount_max = forms.DecimalField(
        required=False, label="Amount to", max_digits=20, decimal_places=2
    )
    text = forms.CharField(required=False, max_length=100, label="Text")
    sort = forms.ChoiceField(
        required=False, choices=[("date", "Date"), ("amount", "Amount")], widget=forms.HiddenInput
    )
    order = forms.ChoiceField(
        required=False,
        choices=[("asc", "Ascending"), ("desc", "Descending")],
        widget=forms.HiddenInput,
    )

    FILTER_FIELDS = ("date_from", "thru_date", "company", "amount_min", "amount_max", "text")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("thru_date")
        if start and end and start > end:
            self.add_error("thru_date", "The through date is before the from date.")
        low, high = cleaned.get("amount_min"), cleaned.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", "The upper amount is below the lower one.")
        return cleaned

    def list_filters(self) -> ListFilters:
        """The filters typed, or none when any of them is not valid (the page shows
        the error beside its field)."""
        if not self.is_valid():
            return ListFilters()
        data = self.cleaned_data
        return ListFilters(
            date_from=data.get("date_from"),
            date_to=data.get("thru_date"),
            company=data.get("company") or "",
            amount_min=data.get("amount_min"),
            amount_max=data.get("amount_max"),
            text=data.get("text") or "",
        )

    def sorting(self) -> tuple[str, bool]:
        """(column, descending): by date, oldest first, unless another was asked."""
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("sort") or "date", data.get("order") == "desc"


class BatchSearchForm(forms.Form):
    """Open Batches: find a batch by part of its ID and the days it was created on."""

    q = forms.CharField(
        required=False,
        max_length=50,
        label="Batch ID",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    created_from = forms.DateField(
        required=False, label="Created from", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        required=False, label="Created to", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "The end date is before the start date.")
        return cleaned


class BatchCreateForm(forms.Form):
    """The Creation part of the Accounting Interface."""

    selection = forms.ChoiceField(
        label="Records to send",
        choices=[
            (SELECTED, "The records ticked on this page"),
            (MATCHING, "All matching records on this tab"),
            (EVERYTHING, "All unposted records of every kind"),
        ],
        initial=SELECTED,
        widget=forms.RadioSelect,
    )
    items = RecordItemsField(required=False)
    thru_date = forms.DateField(required=False, widget=forms.HiddenInput)
    batch_identifier = forms.CharField(
        label="Batch ID",
        max_length=50,
        required=False,
        help_text="Leave empty to have one generated. The ID of a deleted batch may be used again.",
    )
    transfer = forms.ChoiceField(
        label="Transfer",
        choices=[
            (TransferMethod.DIRECT, "Direct to the accounting package"),
            (TransferMethod.FILE, "Export file to download"),
        ],
        widget=forms.RadioSelect,
    )
    confirm_resend = forms.BooleanField(
        required=False,
        label="I have removed these originals from the accounting package; send the records again.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("selection") == SELECTED and not cleaned.get("items"):
            raise ValidationError(
                "Tick at least one record, or choose to send all matching records.",
                code="nothing_selected",
            )
        return cleaned


class BatchActionForm(forms.Form):
    """Actions > Delete Batches / Close Batches on the Open Batches tab."""

    DELETE = "delete"
    CLOSE = "close"

    action = forms.ChoiceField(
        label="Actions",
        choices=[("", "Actions…"), (DELETE, "Delete Batches"), (CLOSE, "Close Batches")],
        error_messages={"required": "Choose an action: Delete Batches or Close Batches."},
    )
    batches = forms.ModelMultipleChoiceField(
        queryset=GLBatch.objects.exclude(status="deleted").order_by("pk"),
        widget=forms.MultipleHiddenInput,
        error_messages={"required": "Tick the batch or batches first."},
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)
