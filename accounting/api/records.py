"""The pieces the record apps' APIs share (docs/api.md, "Invoices", "Expenses",
"Procurement"): record kinds, the permissions of the accounting steps, the audit trail,
and the unbatch and rebatch steps of one record."""

import functools
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounting import selectors, services
from accounting.postables import get_kind, kind_types
from accounting.steps import Refusal, record_refusals
from core.api import error_responses, step_schema

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


class SentValuesSerializer(serializers.Serializer):
    total = serializers.DecimalField(max_digits=20, decimal_places=2)
    tax = serializers.DecimalField(max_digits=20, decimal_places=2)
    accounts = serializers.ListField(
        child=serializers.DictField(),
        help_text="Each GL account's amount: {account, name, amount}, debit positive, "
        "credit negative.",
    )


class SentChangeSerializer(serializers.Serializer):
    """A record edited since it was sent: what the accounting package holds and the
    record now."""

    batch = serializers.CharField(help_text="The batch whose transfer sent it.")
    batch_id = serializers.IntegerField()
    method = serializers.CharField(help_text="direct or file (or external).")
    sent_at = serializers.DateTimeField()
    in_batch = serializers.BooleanField(
        help_text="It is in the batch that sent it again (rebatched after the edit): the "
        "batch shows the new values, the package the ones sent."
    )
    header_changed = serializers.BooleanField(
        help_text="Its date, due date, tax code or company differ from what was sent too."
    )
    sent = SentValuesSerializer()
    now = SentValuesSerializer()


class StepAnswerSerializer(serializers.Serializer):
    allowed = serializers.BooleanField(help_text="Whether the step would be accepted now.")
    code = serializers.CharField(
        allow_null=True, help_text="The refusal's code, as the step itself would answer it."
    )
    message = serializers.CharField(
        allow_null=True, help_text="The refusal's sentence, as the step itself would answer it."
    )


def step_answers(
    refusals: dict[str, Refusal], *, user: Any, permissions: dict[str, tuple[str, ...]]
) -> dict[str, dict[str, Any]]:
    """Each step's answer without running it: its predicate's refusal, else the role's
    (the steps' permissions), else allowed."""
    answers = {}
    for step, refusal in refusals.items():
        if refusal is None and not user.has_perms(permissions[step]):
            answers[step] = {
                "allowed": False,
                "code": "permission_denied",
                "message": "Your role does not allow this.",
            }
        else:
            answers[step] = {
                "allowed": refusal is None,
                "code": refusal.code if refusal else None,
                "message": refusal.message if refusal else None,
            }
    return answers


class RecordStepsSerializer(serializers.Serializer):
    unbatch = StepAnswerSerializer()
    rebatch = StepAnswerSerializer()


steps_schema = extend_schema(
    summary="Unbatch and rebatch: whether each would be accepted now, and if not, why",
    responses={200: RecordStepsSerializer, **error_responses(not_found=True)},
)


UNBATCH_WARNINGS_HELP = (
    "What the caller must know after the unbatch, in sentences (empty when nothing): "
    "when the accounting package holds a payment against the record, that the payment "
    "must be re-applied there after a re-send."
)


@functools.cache
def with_warnings(serializer: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The record's serializer with the unbatch's `warnings` added (for the schema)."""
    attrs: dict[str, Any] = {
        "warnings": serializers.ListField(
            child=serializers.CharField(), read_only=True, help_text=UNBATCH_WARNINGS_HELP
        )
    }
    meta = getattr(serializer, "Meta", None)
    fields = getattr(meta, "fields", None)
    if meta is not None and isinstance(fields, list | tuple):
        attrs["Meta"] = type("Meta", (meta,), {"fields": [*fields, "warnings"]})
    name = serializer.__name__.removesuffix("Serializer") + "UnbatchedSerializer"
    return type(name, (serializer,), attrs)


def unbatch_schema(serializer: type[serializers.Serializer], what: str) -> Any:
    return step_schema(
        f"Unbatch the {what}: take it out of its open GL batch to edit it",
        with_warnings(serializer),
        conflicts=UNBATCH_CONFLICTS,
        description="Answers the record as it is now, with `warnings`: " + UNBATCH_WARNINGS_HELP,
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


class RecordSentChangeSerializer(serializers.Serializer):
    changed_since_sent = SentChangeSerializer(
        allow_null=True,
        help_text="What the accounting package holds of the record beside the record now; "
        "null when the package holds it as it is (or it was never sent).",
    )


sent_change_schema = extend_schema(
    summary="Changed since sent: what the accounting package holds beside the record now",
    responses={200: RecordSentChangeSerializer, **error_responses(not_found=True)},
)
SENT_CHANGE_CONFLICTS = ("invalid_transition", "batch_not_open", "retransfer_unconfirmed")


# For a postable record's view set: the steps that take the record out of its GL batch
# and put it back, for actions of the view set's own to call (a purchase order's
# freight); BatchActionsMixin makes them its unbatch and rebatch actions. It also
# answers whether the record changed since it was sent, and brings the package in
# line: GET <id>/changed-since-sent/, POST <id>/package-updated/ (an export file's
# package, changed by hand) and <id>/update-in-package/ (through the connector).
class BatchStepsMixin(AuditTrailMixin):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        permissions = cls.__dict__.get("required_permissions")
        if permissions is not None and "steps" in permissions:
            cls.required_permissions = {
                **permissions,
                "changed_since_sent": permissions["steps"],
                "package_updated": TRANSFER,
                "update_in_package": TRANSFER,
            }
        serializer = cls.__dict__.get("serializer_class")
        if serializer is not None:
            what = str(getattr(cls, "record_type", "record")).replace("_", " ")
            extend_schema_view(**sent_change_steps_schema(serializer, what))(cls)

    @sent_change_schema
    @action(
        detail=True,
        methods=["get"],
        url_path="changed-since-sent",
        pagination_class=None,
        filter_backends=[],
    )
    def changed_since_sent(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        change = selectors.record_sent_change(self.record_type, record.pk)
        return Response({"changed_since_sent": change.as_json() if change else None})

    @action(detail=True, methods=["post"], url_path="package-updated")
    def package_updated(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        services.sent_change_confirm(
            actor=request.user, record_type=self.record_type, record_id=record.pk
        )
        return self.record_response(record.pk)

    @action(detail=True, methods=["post"], url_path="update-in-package")
    def update_in_package(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        services.sent_change_send(
            actor=request.user, record_type=self.record_type, record_id=record.pk
        )
        return self.record_response(record.pk)

    def record_response(self, record_id: int, code: int = status.HTTP_200_OK) -> Response:
        """The record as the view set shows it."""
        raise NotImplementedError

    @steps_schema
    @action(
        detail=True,
        methods=["get"],
        url_path="actions",
        pagination_class=None,
        filter_backends=[],
    )
    def steps(self, request: Request, pk: str) -> Response:
        kind = get_kind(self.record_type)
        record = kind.queryset().get(pk=self.get_object().pk)
        answers = step_answers(
            record_refusals(kind, record),
            user=request.user,
            permissions={"unbatch": UNBATCH, "rebatch": UNBATCH},
        )
        return Response(RecordStepsSerializer(answers).data)

    def unbatch_step(self) -> Response:
        record = self.get_object()
        services.record_unbatch(
            actor=self.request.user, record_type=self.record_type, record_id=record.pk
        )
        response = self.record_response(record.pk)
        warnings = []
        paid = selectors.paid_amount(self.record_type, record.pk)
        if paid:
            kind = get_kind(self.record_type)
            reference = kind.reference(kind.queryset().get(pk=record.pk))
            warnings.append(
                f"The accounting package holds a payment of {paid} against {reference}: "
                "after a re-send the payment must be re-applied there."
            )
        response.data["warnings"] = warnings
        return response

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


def sent_change_steps_schema(serializer: type[serializers.Serializer], what: str) -> dict:
    """The schema of the two steps that bring the package in line with the record."""
    return {
        "package_updated": step_schema(
            f"The {what} was changed in the accounting package by hand (an export file's "
            "package): the product counts the package in line with it; audited",
            serializer,
            conflicts=SENT_CHANGE_CONFLICTS,
        ),
        "update_in_package": step_schema(
            f"Update the {what} in the accounting package through the connector (a direct "
            "transfer): it goes out again in a batch of its own, the original removed first",
            serializer,
            conflicts=SENT_CHANGE_CONFLICTS,
        ),
    }


def batch_actions_schema(what: str) -> Any:
    """Class decorator: the schema of BatchActionsMixin's actions, which answer with the
    view set's `serializer_class`; `what` names the record in their summaries."""

    def decorate(viewset: type) -> type:
        serializer = viewset.serializer_class
        return extend_schema_view(
            unbatch=unbatch_schema(serializer, what), rebatch=rebatch_schema(serializer, what)
        )(viewset)

    return decorate
