"""The accounting interface over HTTP (api.md, "Reference data" and "Accounting
interface"): setup tables, unposted records, GL batches and the workflows on them.

Also the pieces the record apps' APIs share: the audit trail and the unbatch/rebatch
steps of one record.
"""

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import django_filters
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from accounting import selectors, services, setup_services
from accounting.models import (
    AccountingSetup,
    BatchStatus,
    ExportFormat,
    GLAccount,
    GLAccountType,
    GLBatch,
    Package,
    TaxCode,
    TransferMethod,
    TransferState,
)
from accounting.postables import kind_types
from psa.api import (
    MAX_ID,
    ApiMixin,
    Pagination,
    ReferenceDataMixin,
    RolePermission,
    error_responses,
    list_error_responses,
    money_field,
    read_schema,
    reference_schema,
    reject_nul_characters,
    step_schema,
)
from psa.errors import ApplicationError, NotFound

VIEW_BATCHES = ("accounting.view_glbatch",)
TRANSFER = ("accounting.transfer_glbatch",)
UNBATCH = ("accounting.unbatch_record",)

UNBATCH_CONFLICTS = ("not_batched", "batch_not_open", "invalid_transition")
REBATCH_CONFLICTS = (
    "already_batched",
    "no_original_batch",
    "original_batch_not_open",
    "record_not_ready",
    "invalid_transition",
)


# --- shared by the record apps: record kinds, audit trail, unbatch and rebatch ---------


class RecordTypeField(serializers.ChoiceField):
    """A postable kind as the API names it: invoice, expense, freight, product."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=kind_types(), **kwargs)


def batch_identifier_field(source: str) -> serializers.CharField:
    """A batch foreign key shown as the batch's identifier, or null."""
    return serializers.CharField(
        source=f"{source}.batch_identifier", read_only=True, allow_null=True
    )


class AuditEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    actor_name = serializers.CharField(source="actor.username", allow_null=True)
    action = serializers.CharField()
    batch = batch_identifier_field("batch")
    batch_id = serializers.IntegerField(allow_null=True)
    changes = serializers.DictField(
        help_text="For edits, {field: {before, after}}; for workflow steps, what they did."
    )


audit_schema = extend_schema(
    summary="Audit trail of the record",
    responses={200: AuditEventSerializer(many=True), **error_responses(not_found=True)},
)


def audit_response(*, record_type: str, record_id: int | None) -> Response:
    events = selectors.audit_trail(record_type=record_type, record_id=record_id)
    return Response(AuditEventSerializer(events, many=True).data)


def unbatch_schema(serializer: type[serializers.Serializer], what: str) -> Any:
    return step_schema(
        f"Unbatch the {what}: take it out of its open GL batch to edit it",
        serializer,
        conflicts=UNBATCH_CONFLICTS,
    )


def rebatch_schema(serializer: type[serializers.Serializer], what: str) -> Any:
    return step_schema(
        f"Rebatch the {what} into its original batch; nothing is sent",
        serializer,
        conflicts=REBATCH_CONFLICTS,
    )


# The mixins below have comments, not docstrings: drf-spectacular would show a mixin's
# docstring as the description of every operation of a view set without one of its own.


# For a record's view set: GET <id>/audit/, the audit trail of the record, whose type in
# the trail is the view set's `record_type`.
class AuditTrailMixin:
    record_type: str

    @audit_schema
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def audit(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        return audit_response(record_type=self.record_type, record_id=record.pk)


# For a postable record's view set: the steps that take the record out of its GL batch
# and put it back, for actions of the view set's own to call (a purchase order's
# freight); BatchActionsMixin makes them its unbatch and rebatch actions.
class BatchStepsMixin(AuditTrailMixin):
    def record_response(self, record_id: int, code: int = status.HTTP_200_OK) -> Response:
        """The record as the view set shows it."""
        raise NotImplementedError

    def unbatch_step(self) -> Response:
        record = self.get_object()
        services.record_unbatch(
            actor=self.request.user, record_type=self.record_type, record_id=record.pk
        )
        return self.record_response(record.pk)

    def rebatch_step(self) -> Response:
        record = self.get_object()
        services.record_rebatch(
            actor=self.request.user, record_type=self.record_type, record_id=record.pk
        )
        return self.record_response(record.pk)


# POST <id>/unbatch/ and <id>/rebatch/; their schema comes from `batch_actions_schema`.
class BatchActionsMixin(BatchStepsMixin):
    @action(detail=True, methods=["post"])
    def unbatch(self, request: Request, pk: str) -> Response:
        return self.unbatch_step()

    @action(detail=True, methods=["post"])
    def rebatch(self, request: Request, pk: str) -> Response:
        return self.rebatch_step()


def batch_actions_schema(what: str) -> Any:
    """Class decorator: the schema of BatchActionsMixin's actions, which answer with the
    view set's `serializer_class`; `what` names the record in their summaries."""

    def decorate(viewset: type) -> type:
        serializer = viewset.serializer_class
        return extend_schema_view(
            unbatch=unbatch_schema(serializer, what), rebatch=rebatch_schema(serializer, what)
        )(viewset)

    return decorate


# --- reference data: GL accounts, tax codes ----------------------------------------------


class GLAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = GLAccount
        fields = ["id", "number", "name", "type", "is_active"]


class GLAccountFilter(django_filters.FilterSet):
    class Meta:
        model = GLAccount
        fields = ["type", "is_active"]


@reference_schema("GL accounts")
class GLAccountViewSet(ReferenceDataMixin, GenericViewSet):
    queryset = GLAccount.objects.all()
    serializer_class = GLAccountSerializer
    filterset_class = GLAccountFilter
    ordering_fields = ["number", "name", "type", "id"]
    required_permissions = {
        "list": ("accounting.view_glaccount",),
        "retrieve": ("accounting.view_glaccount",),
        "create": ("accounting.add_glaccount",),
    }


class RateField(serializers.DecimalField):
    """A percentage: "8.25" in and out (at least two decimals, up to four)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_digits=7,
            decimal_places=4,
            min_value=Decimal("0"),
            max_value=Decimal("100"),
            **kwargs,
        )

    def to_representation(self, value: Any) -> str:
        value = Decimal(value)
        places = max(2, -value.normalize().as_tuple().exponent)
        return f"{value:.{places}f}"


class TaxCodeSerializer(serializers.ModelSerializer):
    rate = RateField(help_text='Percent, for example "8.25".')

    class Meta:
        model = TaxCode
        fields = ["id", "code", "name", "rate", "gl_account"]


@reference_schema("tax codes")
class TaxCodeViewSet(ReferenceDataMixin, GenericViewSet):
    queryset = TaxCode.objects.all()
    serializer_class = TaxCodeSerializer
    ordering_fields = ["code", "name", "id"]
    required_permissions = {
        "list": ("accounting.view_taxcode",),
        "retrieve": ("accounting.view_taxcode",),
        "create": ("accounting.add_taxcode",),
    }


# --- the accounting package setup --------------------------------------------------------


class HeldOptionsField(serializers.DictField):
    """Options as the setup row holds them. A row saved before options were checked may
    hold something other than an object: it reads as {} (a transfer names the problem,
    and setting options replaces it)."""

    def to_representation(self, value):
        return super().to_representation(value if isinstance(value, dict) else {})


OPTIONS_HELP = (
    "The options of the package's direct transfer and of the export format, each "
    "declared with its type (accounting/setup_options.py); others are refused. beancount: "
    "`ledger_path`, the ledger's name inside the server's ledger folder (LEDGER_ROOT), "
    "for example `books/main.beancount`, and `currency`."
)


class SetupSerializer(serializers.Serializer):
    package = serializers.ChoiceField(choices=Package.choices)
    direct_transfer = serializers.BooleanField()
    export_format = serializers.ChoiceField(choices=ExportFormat.choices)
    options = HeldOptionsField(help_text=OPTIONS_HELP)
    saved_options = HeldOptionsField(
        help_text="The options clearing Direct Transfer saved; restore-options puts them back."
    )
    default_accounts = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(
        {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "GL account type -> the id of its default GL account.",
        }
    )
    def get_default_accounts(self, setup: AccountingSetup) -> dict[str, int]:
        return selectors.default_accounts()


class SetupUpdateSerializer(serializers.Serializer):
    package = serializers.ChoiceField(choices=Package.choices, required=False)
    direct_transfer = serializers.BooleanField(
        required=False,
        help_text="Clearing it saves the options into saved_options and clears them.",
    )
    export_format = serializers.ChoiceField(choices=ExportFormat.choices, required=False)
    options = serializers.DictField(
        required=False,
        validators=[reject_nul_characters],
        help_text=OPTIONS_HELP + " An error names the option: `options.<name>`.",
    )
    default_accounts = serializers.DictField(
        child=serializers.PrimaryKeyRelatedField(queryset=GLAccount.objects.all(), allow_null=True),
        required=False,
        help_text=f"{{<gl account type>: <gl account id or null>}}; types: "
        f"{', '.join(GLAccountType.values)}.",
    )

    def validate_default_accounts(self, value: dict) -> dict:
        unknown = sorted(set(value) - set(GLAccountType.values))
        if unknown:
            raise serializers.ValidationError(
                f"Not GL account types: {', '.join(unknown)}. Use: "
                f"{', '.join(GLAccountType.values)}."
            )
        return value


class SingleResourceView(GenericAPIView):
    """A view of one resource (no list): its methods need `required_permissions`."""

    permission_classes = [RolePermission]
    serializer_class = SetupSerializer
    pagination_class = None
    filter_backends: list = []


class SetupView(SingleResourceView):
    """The accounting package setup table (one row)."""

    required_permissions = {
        "get": ("accounting.view_accountingsetup",),
        "patch": ("accounting.change_accountingsetup", "accounting.change_defaultglaccount"),
    }

    @extend_schema(responses={200: SetupSerializer, **error_responses()})
    def get(self, request: Request) -> Response:
        return Response(SetupSerializer(selectors.accounting_setup()).data)

    @extend_schema(
        request=SetupUpdateSerializer,
        responses={200: SetupSerializer, **error_responses(validation=True)},
    )
    def patch(self, request: Request) -> Response:
        serializer = SetupUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        setup = setup_services.accounting_setup_update(
            actor=request.user, **serializer.validated_data
        )
        return Response(SetupSerializer(setup).data)


class SetupRestoreOptionsView(SingleResourceView):
    required_permissions = {"post": ("accounting.change_accountingsetup",)}

    @extend_schema(
        summary="Restore the options that clearing Direct Transfer saved",
        description="Refused (400, `options.<name>` fields) when the saved options no longer "
        "fit the setup's package and export format, or their ledger left the ledger folder.",
        request=None,
        responses={
            200: SetupSerializer,
            **error_responses(validation=True, conflicts=["invalid_transition"]),
        },
    )
    def post(self, request: Request) -> Response:
        setup = setup_services.accounting_setup_restore_options(actor=request.user)
        return Response(SetupSerializer(setup).data)


class SetupAuditView(SingleResourceView):
    serializer_class = AuditEventSerializer
    required_permissions = {"get": ("accounting.view_accountingsetup",)}

    @extend_schema(
        summary="Audit trail of the setup",
        responses={200: AuditEventSerializer(many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        return audit_response(record_type=setup_services.SETUP_RECORD_TYPE, record_id=None)


# --- unposted records ------------------------------------------------------------------------


class PreviouslySentSerializer(serializers.Serializer):
    batch_identifier = serializers.CharField()
    sent_at = serializers.DateTimeField()


class UnpostedItemSerializer(serializers.Serializer):
    type = RecordTypeField()
    id = serializers.IntegerField()
    reference = serializers.CharField()
    date = serializers.DateField(allow_null=True)
    company = serializers.CharField()
    amount = money_field()
    previously_sent = PreviouslySentSerializer(
        many=True, help_text="Sends of the record still in the accounting package."
    )


class UnpostedQuerySerializer(serializers.Serializer):
    type = RecordTypeField(required=False, help_text="One kind; all kinds when left out.")
    thru_date = serializers.DateField(required=False, help_text="Dated on or before.")
    cursor = serializers.CharField(
        required=False, help_text="Where the page starts: the `next` or `previous` link's value."
    )
    page_size = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=Pagination.max_page_size,
        default=Pagination.page_size,
        help_text="Records a page, at most 1000.",
    )

    def validate_cursor(self, value: str) -> tuple:
        try:
            return selectors.parse_unposted_cursor(value)
        except ValueError:
            raise serializers.ValidationError(
                "Not a position in this list; follow the next or previous link."
            ) from None


class UnpostedPageSerializer(serializers.Serializer):
    """A page by position: no count, so any depth costs what the first page does."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = UnpostedItemSerializer(many=True)


class UnpostedView(GenericAPIView):
    """Finished records in no batch: the Accounting Interface's unposted tabs."""

    permission_classes = [RolePermission]
    serializer_class = UnpostedItemSerializer
    filter_backends: list = []
    pagination_class = None
    required_permissions = {"get": VIEW_BATCHES}

    @extend_schema(
        parameters=[UnpostedQuerySerializer],
        responses={200: UnpostedPageSerializer, **list_error_responses()},
    )
    def get(self, request: Request) -> Response:
        query = UnpostedQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = query.validated_data
        wanted = [options["type"]] if "type" in options else kind_types()
        after, before = options.get("cursor") or (None, None)
        page = selectors.unposted_page(
            record_types=wanted,
            thru_date=options.get("thru_date"),
            after=after,
            before=before,
            size=options["page_size"],
        )
        by_type: dict[str, list] = defaultdict(list)
        for record_type, record in page.rows:
            by_type[record_type].append(record)
        items = {
            (item["type"], item["id"]): item
            for record_type, records in by_type.items()
            for item in selectors.unposted_items(record_type=record_type, records=records)
        }
        data = [items[(record_type, record.pk)] for record_type, record in page.rows]

        def link(cursor: str) -> str:
            return request.build_absolute_uri(
                f"{request.path}?{_with_query(request, cursor=cursor)}"
            )

        return Response(
            {
                "next": link(page.next_cursor) if page.next_cursor else None,
                "previous": link(page.previous_cursor) if page.previous_cursor else None,
                "results": UnpostedItemSerializer(data, many=True).data,
            }
        )


def _with_query(request: Request, **changes: str) -> str:
    query = request.query_params.copy()
    for name, value in changes.items():
        query[name] = value
    return query.urlencode()


# --- GL batches ------------------------------------------------------------------------------


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
        choices=TransferMethod.choices,
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


@read_schema("List GL batches")
class BatchViewSet(ApiMixin, GenericViewSet):
    """GL batches and the workflows on them."""

    serializer_class = BatchSerializer
    filterset_class = BatchFilter
    ordering_fields = ["created_at", "batch_identifier", "status", "id"]
    required_permissions = {
        "list": VIEW_BATCHES,
        "retrieve": VIEW_BATCHES,
        "items": VIEW_BATCHES,
        "gl_export": VIEW_BATCHES,
        "file": VIEW_BATCHES,
        "changes": VIEW_BATCHES,
        "checklist": VIEW_BATCHES,
        "create": TRANSFER,
        "retry": TRANSFER,
        "rerecord": TRANSFER,
        "close": ("accounting.close_glbatch",),
        "destroy": ("accounting.delete_glbatch",),
        "reopen": ("accounting.reopen_glbatch",),
    }

    def get_queryset(self):
        return selectors.batch_list()

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return with_counts(page) if page is not None else None

    def _batch(self, batch_id: int, code: int = status.HTTP_200_OK) -> Response:
        batch = with_counts([self.get_queryset().get(pk=batch_id)])[0]
        return Response(self.get_serializer(batch).data, status=code)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._batch(self.get_object().pk)

    @extend_schema(
        summary="Create a GL batch and queue its transfer",
        description="From chosen unposted records (items) or all unposted ones (optionally "
        "by kind and up to a date). Records sent before need confirm_resend: without it "
        "the answer is 409 retransfer_unconfirmed, listing them and their earlier batches.",
        request=BatchCreateSerializer,
        responses={
            201: BatchSerializer,
            **error_responses(
                validation=True,
                not_found=True,
                conflicts=[
                    "batch_identifier_in_use",
                    "already_batched",
                    "record_not_ready",
                    "retransfer_unconfirmed",
                ],
            ),
        },
    )
    def create(self, request: Request) -> Response:
        serializer = BatchCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        batch = services.batch_create(
            actor=request.user,
            items=[dict(item) for item in data.get("items") or []] or None,
            all_unposted=data["all_unposted"],
            types=data.get("types") or None,
            thru_date=data.get("thru_date"),
            batch_identifier=data.get("batch_identifier"),
            transfer=data.get("transfer"),
            confirm_resend=data["confirm_resend"],
        )
        return self._batch(batch.pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Delete a GL batch: its records become unposted again",
        responses={
            204: None,
            **error_responses(
                not_found=True, conflicts=["batch_has_unbatched_items", "batch_not_open"]
            ),
        },
    )
    def destroy(self, request: Request, pk: str) -> Response:
        batch = self.get_object()
        services.batch_delete(actor=request.user, batch_id=batch.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Records of the batch, and those unbatched from it",
        responses={200: BatchItemSerializer(many=True), **error_responses(not_found=True)},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def items(self, request: Request, pk: str) -> Response:
        batch = self.get_object()
        return Response(BatchItemSerializer(selectors.batch_items(batch), many=True).data)

    @extend_schema(
        summary="The GL lines of each record in the batch",
        responses={200: GLExportSerializer(many=True), **error_responses(not_found=True)},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="gl-export",
        pagination_class=None,
        filter_backends=[],
    )
    def gl_export(self, request: Request, pk: str) -> Response:
        batch = self.get_object()
        return Response(GLExportSerializer(selectors.batch_gl_export(batch), many=True).data)

    @extend_schema(
        summary="The batch's export file, as an attachment",
        description="Offered under a name made from the batch ID: letters, digits, - _ . "
        "and spaces kept, any other character made a '-' (filename*= for non-ASCII).",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV exports."),
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.BINARY, description="IIF exports."),
            **error_responses(not_found=True),
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def file(self, request: Request, pk: str) -> FileResponse:
        from accounting.exporters.downloads import batch_file_download

        batch = self.get_object()
        if not batch.file:
            raise NotFound(
                f"GL batch {batch.batch_identifier} has no export file"
                + (
                    ": it was transferred directly."
                    if batch.transfer_method == TransferMethod.DIRECT
                    else f" yet: its transfer is {batch.transfer_state}."
                )
            )
        name, content_type = batch_file_download(
            batch_identifier=batch.batch_identifier,
            batch_pk=batch.pk,
            export_format=batch.export_format,
        )
        return FileResponse(
            batch.file.open("rb"), as_attachment=True, filename=name, content_type=content_type
        )

    def _batch_step(self, service: Callable[..., object]) -> Response:
        """Run a workflow step of one batch, and answer with the batch."""
        batch = self.get_object()
        service(actor=self.request.user, batch_id=batch.pk)
        return self._batch(batch.pk)

    @step_schema("Retry a failed transfer", BatchSerializer, conflicts=["invalid_transition"])
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        return self._batch_step(services.batch_retry)

    @step_schema(
        "Close the batch: final for users",
        BatchSerializer,
        conflicts=["batch_not_open", "batch_has_unbatched_items", "invalid_transition"],
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        return self._batch_step(services.batch_close)

    @step_schema(
        "Reopen a closed batch (administrators)", BatchSerializer, conflicts=["invalid_transition"]
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str) -> Response:
        return self._batch_step(services.batch_reopen)

    @extend_schema(
        summary="Re-record a deleted batch's unchanged records as a file-only batch",
        description="Under the deleted batch's identifier; nothing is sent, because the "
        "records are in the accounting package already. Its file is for reference only.",
        request=RerecordSerializer,
        responses={
            201: BatchSerializer,
            **error_responses(
                validation=True,
                not_found=True,
                conflicts=[
                    "invalid_transition",
                    "batch_identifier_in_use",
                    "already_batched",
                    "record_not_ready",
                ],
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def rerecord(self, request: Request, pk: str) -> Response:
        batch = self.get_object()
        serializer = RerecordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = [dict(item) for item in serializer.validated_data.get("items") or []]
        new = services.batch_rerecord(actor=request.user, batch_id=batch.pk, items=items or None)
        return self._batch(new.pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="A deleted batch's former records: unchanged since sent, or changed",
        responses={
            200: BatchChangesSerializer,
            **error_responses(not_found=True, conflicts=["invalid_transition"]),
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def changes(self, request: Request, pk: str) -> Response:
        batch = self.get_object()
        if batch.status != BatchStatus.DELETED:
            raise ApplicationError(
                f"GL batch {batch.batch_identifier} is {batch.status}; only a deleted batch "
                "has former records to compare with what was sent.",
                code="invalid_transition",
            )
        return Response(BatchChangesSerializer(selectors.deleted_batch_changes(batch)).data)

    @extend_schema(
        summary="The originals to remove because this batch sent their records again",
        responses={200: ChecklistItemSerializer(many=True), **error_responses(not_found=True)},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def checklist(self, request: Request, pk: str) -> Response:
        batch = self.get_object()
        return Response(
            ChecklistItemSerializer(selectors.batch_resend_checklist(batch), many=True).data
        )
