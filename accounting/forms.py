"""Input of the Accounting Interface screens. Forms only check what was typed; the
services decide what is allowed."""

from django import forms
from django.core.exceptions import ValidationError

from accounting.models import GLBatch, TransferMethod

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


class UnpostedFilterForm(forms.Form):
    thru_date = forms.DateField(
        required=False,
        label="Through date",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Only records dated on or before this day.",
    )


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
