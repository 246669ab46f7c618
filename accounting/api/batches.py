"""GL batches over HTTP (docs/api.md, "The accounting interface"): the list, one batch, its
items, GL lines, file, former records and checklist, and the workflows on it."""

from collections.abc import Callable

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from accounting import selectors, services
from accounting.api.batch_serializers import (
    BatchChangesSerializer,
    BatchCreateSerializer,
    BatchFilter,
    BatchItemSerializer,
    BatchSerializer,
    ChecklistItemSerializer,
    GLExportSerializer,
    RerecordSerializer,
    with_counts,
)
from accounting.api.records import TRANSFER, VIEW_BATCHES, StepAnswerSerializer, step_answers
from accounting.models import BatchStatus, TransferMethod
from accounting.steps import batch_refusals
from core.api import ApiMixin, error_responses, read_schema, step_schema
from core.errors import ApplicationError, NotFound

# Each step of `batch_refusals` and the view set's action that takes it.
BATCH_STEP_ACTIONS = {
    "close": "close",
    "delete": "destroy",
    "reopen": "reopen",
    "retry": "retry",
    "rerecord": "rerecord",
}


class BatchStepsSerializer(serializers.Serializer):
    close = StepAnswerSerializer()
    delete = StepAnswerSerializer()
    reopen = StepAnswerSerializer()
    retry = StepAnswerSerializer()
    rerecord = StepAnswerSerializer()


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
        "steps": VIEW_BATCHES,
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
        changes = selectors.batch_sent_changes(batch)
        items = []
        for item in selectors.batch_items(batch):
            change = changes.get((item["type"], item["id"]))
            items.append({**item, "changed_since_sent": change.as_json() if change else None})
        return Response(BatchItemSerializer(items, many=True).data)

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

    @extend_schema(
        summary="The steps on the batch: whether each would be accepted now, and if not, why",
        responses={200: BatchStepsSerializer, **error_responses(not_found=True)},
    )
    @action(
        detail=True, methods=["get"], url_path="actions", pagination_class=None, filter_backends=[]
    )
    def steps(self, request: Request, pk: str) -> Response:
        batch = self.get_object()
        answers = step_answers(
            batch_refusals(batch, request.user),
            user=request.user,
            permissions={
                step: self.required_permissions[action]
                for step, action in BATCH_STEP_ACTIONS.items()
            },
        )
        return Response(BatchStepsSerializer(answers).data)

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
