"""The books check over HTTP (docs/api.md, "The books check"): its runs, each run's
differences with both sides' values, starting a run, and the one-click fix of a
difference."""

import django_filters
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from accounting import selectors, services
from accounting.api.records import TRANSFER, VIEW_BATCHES
from accounting.models import (
    DifferenceClass,
    Reconciliation,
    ReconciliationDifference,
    ReconciliationSource,
    ReconciliationState,
    UploadFormat,
)
from core.api import (
    MAX_ID,
    ApiMixin,
    ErrorSerializer,
    Pagination,
    RolePermission,
    error_responses,
    list_error_responses,
    read_schema,
)

DIFFERENCES_IN_DETAIL = 100


class DifferenceSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=DifferenceClass.choices)
    psa = serializers.DictField(
        help_text="The PSA's side: `sent` {batch, sent_at, lines} as the transfer log has "
        "it (null when nothing was logged), `current` {date, lines, changed} the record "
        "now (null when it does not exist). Lines are [GL account number, debit minus credit]."
    )
    package = serializers.ListField(
        child=serializers.DictField(),
        help_text="Each transaction the package holds for the record: {reference, batch, "
        "date, lines}.",
    )
    fixable = serializers.SerializerMethodField()

    class Meta:
        model = ReconciliationDifference
        fields = [
            "id",
            "kind",
            "record_type",
            "record_id",
            "reference",
            "batch_identifier",
            "psa",
            "package",
            "fixable",
            "fix",
            "fixed_at",
            "fixed_by",
        ]

    def get_fixable(self, difference: ReconciliationDifference) -> bool:
        """Whether a one-click fix applies (and was not applied yet): never to what an
        uploaded export showed, which the product cannot change."""
        return (
            difference.fixed_at is None
            and difference.kind in services.FIXABLE
            and difference.reconciliation.source != ReconciliationSource.UPLOAD
        )


class ReconciliationSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(choices=ReconciliationState.choices)
    batch = serializers.CharField(source="batch.batch_identifier", allow_null=True, default=None)
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Records in each class: in_step, missing, duplicated, changed_in_package, "
        "changed_in_psa, unknown.",
    )
    differences_count = serializers.IntegerField()
    source = serializers.ChoiceField(
        choices=ReconciliationSource.choices,
        help_text="connector: read from the package by its connector; upload: an export "
        "of the package uploaded, compared with the export files sent to it.",
    )
    upload = serializers.SerializerMethodField(
        help_text="For an uploaded export: {format, name, rows}; null otherwise."
    )

    class Meta:
        model = Reconciliation
        fields = [
            "id",
            "state",
            "progress",
            "package",
            "batch_id",
            "batch",
            "date_from",
            "date_to",
            "counts",
            "differences_count",
            "error",
            "created_at",
            "created_by",
            "started_at",
            "finished_at",
            "source",
            "upload",
        ]

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "format": {"type": "string", "enum": UploadFormat.values},
                "name": {"type": "string"},
                "rows": {"type": "integer"},
            },
        }
    )
    def get_upload(self, run: Reconciliation) -> dict | None:
        if run.source != ReconciliationSource.UPLOAD:
            return None
        return {"format": run.upload_format, "name": run.upload_name, "rows": run.upload_rows}


class ReconciliationDetailSerializer(ReconciliationSerializer):
    differences = serializers.SerializerMethodField(
        help_text=f"The first {DIFFERENCES_IN_DETAIL} differences; all of them, paginated "
        "and filtered, at .../differences/."
    )

    class Meta(ReconciliationSerializer.Meta):
        fields = [*ReconciliationSerializer.Meta.fields, "differences"]

    @extend_schema(responses=DifferenceSerializer(many=True))
    def get_differences(self, run: Reconciliation) -> list[dict]:
        rows = run.differences.select_related("reconciliation")[:DIFFERENCES_IN_DETAIL]
        return DifferenceSerializer(rows, many=True).data


class ReconciliationStartSerializer(serializers.Serializer):
    batch_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID
    )
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)


class ReconciliationUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="The package's export of the period, CSV (UTF-8).", allow_empty_file=True
    )
    format = serializers.ChoiceField(choices=UploadFormat.choices)
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)


class ReconciliationFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=ReconciliationState.choices)

    class Meta:
        model = Reconciliation
        fields = ["state"]


class DifferenceFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=DifferenceClass.choices)
    record_type = django_filters.CharFilter()
    fixed = django_filters.BooleanFilter(field_name="fixed_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = ReconciliationDifference
        fields = ["kind", "record_type", "fixed"]


@read_schema("List books check runs")
class ReconciliationViewSet(ApiMixin, GenericViewSet):
    """Books check runs: what the accounting package holds of the records sent through
    its connector, against the transfer log and the records now."""

    serializer_class = ReconciliationSerializer
    filterset_class = ReconciliationFilter
    ordering_fields = ["created_at", "id"]
    required_permissions = {
        "list": VIEW_BATCHES,
        "retrieve": VIEW_BATCHES,
        "differences": VIEW_BATCHES,
        "create": TRANSFER,
        "upload": TRANSFER,
    }

    def get_queryset(self):
        return selectors.reconciliation_list()

    @extend_schema(
        responses={200: ReconciliationDetailSerializer, **error_responses(not_found=True)}
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ReconciliationDetailSerializer(self.get_object()).data)

    @extend_schema(
        summary="Start a books check",
        description="Of one batch (`batch_id`), of the records dated in a range "
        "(`date_from`, `date_to`), or of everything when none is given. The run is queued; "
        "read it back for its progress, counts and differences.",
        request=ReconciliationStartSerializer,
        responses={
            201: ReconciliationSerializer,
            **error_responses(
                validation=True,
                not_found=True,
                conflicts=["no_connector", "reconciliation_running"],
            ),
        },
    )
    def create(self, request: Request) -> Response:
        serializer = ReconciliationStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.reconciliation_start(actor=request.user, **serializer.validated_data)
        run = self.get_queryset().get(pk=run.pk)
        return Response(ReconciliationSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Check the books against an uploaded export of the package",
        description="For a package that takes export files: multipart/form-data with "
        "`file` (the package's export of the period, CSV) and `format` "
        "(`gl_journal_csv`: this product's GL journal CSV; `quickbooks_gl_report`: "
        "QuickBooks' General Ledger report; `xero_gl_report`: Xero's General Ledger "
        "Detail report), and optionally `date_from`, `date_to` (else the export's first "
        "and last dates). The file is read before the answer: one that does not read is "
        "refused (400 `validation_error`, `fields.file` naming the line), nothing kept; "
        "one over the size limit answers 413 `request_too_large`. The run is queued and "
        "compares the export with the export files sent to the package.",
        request={"multipart/form-data": ReconciliationUploadSerializer},
        responses={
            201: ReconciliationSerializer,
            **error_responses(validation=True, conflicts=["reconciliation_running"]),
            413: OpenApiResponse(
                ErrorSerializer, description="request_too_large: the file is over the limit."
            ),
        },
    )
    @action(
        detail=False,
        methods=["post"],
        parser_classes=[MultiPartParser, FormParser],
        filter_backends=[],
    )
    def upload(self, request: Request) -> Response:
        serializer = ReconciliationUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = services.reconciliation_upload(
            actor=request.user,
            upload_format=data["format"],
            file=data["file"],
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
        run = self.get_queryset().get(pk=run.pk)
        return Response(ReconciliationSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The run's differences",
        description="Filters: `kind`, `record_type`, `fixed` (true or false).",
        parameters=[
            OpenApiParameter("kind", str, enum=DifferenceClass.values),
            OpenApiParameter("record_type", str),
            OpenApiParameter("fixed", bool),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={
            200: DifferenceSerializer(many=True),
            **list_error_responses(),
            **error_responses(not_found=True),
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def differences(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        rows = self.filter_queryset_with(
            DifferenceFilter, run.differences.select_related("reconciliation")
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(DifferenceSerializer(page, many=True).data)

    def filter_queryset_with(self, filterset_class, queryset):
        filterset = filterset_class(self.request.query_params, queryset=queryset)
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        return filterset.qs


class DifferenceViewSet(mixins.RetrieveModelMixin, GenericViewSet):
    """One difference a books check found, and its one-click fix."""

    permission_classes = [RolePermission]
    serializer_class = DifferenceSerializer
    required_permissions = {"retrieve": VIEW_BATCHES, "fix": TRANSFER}
    get_object = ApiMixin.get_object

    def get_queryset(self):
        return ReconciliationDifference.objects.select_related("reconciliation")

    @extend_schema(responses={200: DifferenceSerializer, **error_responses(not_found=True)})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(DifferenceSerializer(self.get_object()).data)

    @extend_schema(
        summary="Fix a difference in one click",
        description="duplicated: removes the copies the transfer log does not name; "
        "missing or changed_in_psa: sends the record again in a batch of its own, the "
        "original removed first. changed_in_package and unknown are reported only "
        "(409 not_fixable).",
        request=None,
        responses={
            200: DifferenceSerializer,
            **error_responses(
                not_found=True,
                conflicts=[
                    "not_fixable",
                    "no_connector",
                    "batch_not_open",
                    "record_not_ready",
                    "invalid_transition",
                ],
            ),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def fix(self, request: Request, pk: str) -> Response:
        difference = services.difference_fix(actor=request.user, difference_id=self.get_object().pk)
        return Response(DifferenceSerializer(difference).data)
