"""How the API shows GL batches and reads their workflow steps' input, and the
batch list's filter."""

import django_filters
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounting import selectors, services
from accounting.api.records import RecordTypeField, SentChangeSerializer
from accounting.models import (
    BatchStatus,
    ExportFormat,
    GLBatch,
    Package,
    TransferMethod,
    TransferState,
)
from accounting.postables import kind_types
from core.api import MAX_ID, money_field


class CountsSerializer(serializers.Serializer):
    """How many records of each kind a batch holds."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {record_type: serializers.IntegerField() for record_type in kind_types()}


class TransferSerializer(serializers.Serializer):
    method = serializers.ChoiceField(source="transfer_method", choices=TransferMethod.choices)
    state = serializers.ChoiceField(
        source="current_transfer_state",
        choices=TransferState.choices,
        help_text="interrupted: the process running it stopped (its lease expired); "
        "retry it, or let the transfer sweep queue it again.",
    )
    progress = serializers.IntegerField(source="transfer_progress", min_value=0, max_value=100)
    error = serializers.CharField(source="transfer_error")
    file_url = serializers.SerializerMethodField()
    started_at = serializers.DateTimeField(source="transfer_started_at", allow_null=True)
    finished_at = serializers.DateTimeField(source="transfer_finished_at", allow_null=True)

    @extend_schema_field(
        serializers.URLField(allow_null=True, help_text="The export file, once written.")
    )
    def get_file_url(self, batch: GLBatch) -> str | None:
        if not batch.file:
            return None
        url = reverse("api:batch-file", args=[batch.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class BatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    batch_identifier = serializers.CharField()
    status = serializers.ChoiceField(choices=BatchStatus.choices)
    created_at = serializers.DateTimeField()
    created_by = serializers.IntegerField(source="created_by_id")
    created_by_name = serializers.CharField(source="created_by.username")
    transfer = TransferSerializer(source="*")
    counts = CountsSerializer()
    total = money_field()
    unbatched = serializers.IntegerField(
        help_text="Records unbatched from the batch and still outside it: they block "
        "deleting and closing it until they are rebatched."
    )
    package = serializers.ChoiceField(choices=Package.choices)
    export_format = serializers.ChoiceField(choices=ExportFormat.choices)
    is_rerecord = serializers.BooleanField(
        help_text="Re-records what is already in the package: its file is for reference."
    )
    closed_at = serializers.DateTimeField(allow_null=True)
    deleted_at = serializers.DateTimeField(allow_null=True)


def with_counts(batches: list[GLBatch]) -> list[GLBatch]:
    """Set `counts`, `total` and `unbatched` on each batch, in a constant number of
    queries however many batches."""
    summaries = selectors.batch_summaries([batch.pk for batch in batches])
    for batch in batches:
        summary = summaries[batch.pk]
        batch.counts, batch.total = summary["counts"], summary["total"]
        batch.unbatched = summary["unbatched"]
    return batches


class BatchItemInputSerializer(serializers.Serializer):
    type = RecordTypeField()
    id = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class BatchCreateSerializer(serializers.Serializer):
    batch_identifier = serializers.CharField(
        max_length=services.BATCH_IDENTIFIER_MAX,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Generated when left out; unique among batches that are not deleted; "
        "no line breaks, tabs or other control characters.",
    )
    items = BatchItemInputSerializer(many=True, required=False, help_text="Chosen records.")
    all_unposted = serializers.BooleanField(
        required=False, default=False, help_text="Every unposted record instead of items."
    )
    types = serializers.ListField(
        child=RecordTypeField(), required=False, help_text="With all_unposted: these kinds."
    )
    thru_date = serializers.DateField(
        required=False, allow_null=True, help_text="With all_unposted: dated on or before."
    )
    transfer = serializers.ChoiceField(
        # An external batch is recorded by the integration that sent it, not made here.
        choices=[(TransferMethod.DIRECT, "Direct transfer"), (TransferMethod.FILE, "Export file")],
        required=False,
        allow_null=True,
        help_text="direct or file; the setup's Direct Transfer flag decides when left out.",
    )
    confirm_resend = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Confirms that the originals of records sent before were removed from "
        "the accounting package.",
    )


class RerecordSerializer(serializers.Serializer):
    items = BatchItemInputSerializer(
        many=True, required=False, help_text="Which unchanged records; all of them when left out."
    )


class BatchItemSerializer(serializers.Serializer):
    type = RecordTypeField()
    id = serializers.IntegerField()
    reference = serializers.CharField()
    amount = money_field()
    state = serializers.ChoiceField(
        choices=["batched", "unbatched"],
        help_text="unbatched: taken out of the batch and not rebatched yet.",
    )
    changed_since_sent = SentChangeSerializer(
        allow_null=True,
        required=False,
        help_text="Rebatched after an edit: what the batch's transfer sent (`sent`) and the "
        "record now (`now`); null when the package holds it as it is.",
    )


class GLLineSerializer(serializers.Serializer):
    account = serializers.CharField(help_text="GL account number.")
    account_name = serializers.CharField()
    debit = money_field()
    credit = money_field()
    memo = serializers.CharField(allow_blank=True)


class GLExportSerializer(serializers.Serializer):
    type = RecordTypeField()
    id = serializers.IntegerField()
    reference = serializers.CharField()
    lines = GLLineSerializer(many=True)


class FormerRecordSerializer(serializers.Serializer):
    type = RecordTypeField()
    id = serializers.IntegerField()
    reference = serializers.CharField()
    amount = money_field()
    gl_batch = serializers.CharField(allow_null=True, help_text="The batch it is in now.")
    sent_at = serializers.DateTimeField(allow_null=True)


class BatchChangesSerializer(serializers.Serializer):
    unchanged = FormerRecordSerializer(
        many=True, help_text="As sent: can be re-recorded under the original batch ID."
    )
    changed = FormerRecordSerializer(many=True, help_text="Edited: go out with the next batch.")
    not_sent = FormerRecordSerializer(many=True, help_text="In the batch, but never sent.")


class ChecklistItemSerializer(serializers.Serializer):
    """An original to remove from the accounting package (or that a connector removed)."""

    type = RecordTypeField()
    id = serializers.IntegerField()
    reference = serializers.CharField()
    batch_identifier = serializers.CharField(help_text="The batch that sent the original.")
    sent_at = serializers.DateTimeField()
    external_reference = serializers.CharField(allow_blank=True)
    removal = serializers.ChoiceField(
        choices=["connector", "confirmed", ""],
        help_text="connector: removed by the connector; confirmed: the user confirmed it.",
    )


class BatchFilter(django_filters.FilterSet):
    batch_identifier = django_filters.CharFilter()
    transfer_state = django_filters.ChoiceFilter(
        choices=TransferState.choices, method="filter_transfer_state"
    )

    def filter_transfer_state(self, queryset, name, value):
        return selectors.batches_in_transfer_state(queryset, value)

    class Meta:
        model = GLBatch
        fields = ["status", "batch_identifier", "transfer_state", "is_rerecord"]
