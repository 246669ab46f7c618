"""What every API module shares: pagination, the one error shape of docs/api.md, permissions
by role, and the serializers and schema pieces the apps' `api.py` modules reuse.

The API is an interface only: views validate input, call one service or selector and
render the result. Refusals come from the services as `ApplicationError`s; the
exception handler below turns them, DRF's own errors and Django's `Http404` and
`PermissionDenied` into `{"code", "detail", ...}` with the contract's status codes.
"""

import codecs
import decimal
import logging
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, models
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, parsers, serializers, status
from rest_framework.metadata import SimpleMetadata
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import clone_request
from rest_framework.response import Response
from rest_framework.utils import json as drf_json

from core.errors import ApplicationError, NotFound
from core.roles import ROLE_PERMISSIONS

logger = logging.getLogger(__name__)

# The largest value a PostgreSQL bigint primary key holds.
MAX_ID = 2**63 - 1


def rest_api_endpoints(endpoints: list) -> list:
    """The schema's preprocessing hook: the REST API's own endpoints (under /api/), not
    those of the ConnectWise-compatible API, which has its own document."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]


# --- pagination ----------------------------------------------------------------------


class Pagination(PageNumberPagination):
    """`{"count", "next", "previous", "results"}`; `?page_size=` up to 1000."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "next": {"type": ["string", "null"], "format": "uri"},
                "previous": {"type": ["string", "null"], "format": "uri"},
                "results": schema,
            },
        }


# --- JSON in ------------------------------------------------------------------------------


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range for a number")
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing also what it lets through to a 500: numbers too
    large for a float (1e400) and nesting too deep for Python's parser."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        encoding = parsers.get_encoding(parser_context or {})
        try:
            decoded = codecs.getreader(encoding)(stream)
            return drf_json.load(
                decoded, parse_constant=drf_json.strict_constant, parse_float=_finite_float
            )
        except (ValueError, RecursionError) as error:
            detail = "nested too deeply" if isinstance(error, RecursionError) else error
            raise exceptions.ParseError(f"JSON parse error - {detail}") from None


# --- the error shape -------------------------------------------------------------------

_CODES_BY_STATUS = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
}


def _field_name(prefix: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    if key == "non_field_errors":
        return prefix or "non_field_errors"
    return f"{prefix}.{key}" if prefix else str(key)


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as docs/api.md's `{name: [messages]}`, with the names the services
    use for nested input (`lines[0].quantity`)."""
    fields: dict[str, list[str]] = {}

    def add(name: str, messages: list[str]) -> None:
        fields.setdefault(name, []).extend(messages)

    if isinstance(detail, dict):
        for key, value in detail.items():
            for name, messages in flatten_errors(value, _field_name(prefix, key)).items():
                add(name, messages)
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                for name, messages in flatten_errors(value, f"{prefix}[{index}]").items():
                    add(name, messages)
            else:
                add(prefix or "non_field_errors", [str(value)])
    else:
        add(prefix or "non_field_errors", [str(detail)])
    return fields


def _validation_detail(fields: dict[str, list[str]]) -> str:
    if not fields:
        return "The request has errors."
    name, messages = next(iter(fields.items()))
    first = messages[0] if messages else "is not valid."
    more = len(fields) - 1
    where = "" if name == "non_field_errors" else f"{name}: "
    return (
        f"The request has errors; correct the fields listed. {where}{first}"
        + (f" (and {more} more field{'s' if more > 1 else ''})" if more else "")
    ).strip()


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    body = {"code": code, "detail": detail, **extra}
    if code == "validation_error":
        body.setdefault("fields", {})
    return body


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every error of the API in the shape of docs/api.md."""
    # Imported here: DRF's views module reads this module's parser and pagination
    # classes from the settings while it is being imported.
    from rest_framework.views import exception_handler as drf_exception_handler
    from rest_framework.views import set_rollback

    if isinstance(exc, ApplicationError):
        set_rollback()
        extra = {key: value for key, value in exc.extra.items() if value is not None}
        return Response(error_body(exc.code, exc.message, **extra), status=exc.status_code)
    if isinstance(exc, DataError | decimal.InvalidOperation):
        # Validation keeps these out; should a value still not fit a column or a
        # calculation, it is the input's fault, not the server's.
        logger.warning("Input the validation let through: %r", exc)
        set_rollback()
        fields = {"non_field_errors": ["A value is too large, or not valid, to be stored."]}
        return Response(
            error_body("validation_error", _validation_detail(fields), fields=fields),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(*(exc.args or ("Not found.",)))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError) or (
        response.status_code == 400 and isinstance(exc, exceptions.ParseError)
    ):
        fields = flatten_errors(exc.detail)
        response.data = error_body("validation_error", _validation_detail(fields), fields=fields)
        return response
    # An exception may name its own code (an expired token's 401 is `token_expired`).
    code = (
        getattr(exc, "error_code", None)
        or _CODES_BY_STATUS.get(response.status_code)
        or _default_code(exc)
    )
    detail = getattr(exc, "detail", None)
    if isinstance(detail, list | dict):
        detail = "; ".join(" ".join(m) for m in flatten_errors(detail).values())
    response.data = error_body(code, _sentence(str(detail or exc)))
    return response


def _default_code(exc: Exception) -> str:
    return getattr(exc, "default_code", None) or "error"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


@csrf_exempt
def not_found_view(request, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown paths under /api/ answer in the API's error shape, not an HTML page."""
    return JsonResponse(
        error_body("not_found", f"There is no API endpoint at {request.path}."), status=404
    )


# --- permissions by role ---------------------------------------------------------------


def _roles_granting(permissions: Iterable[str]) -> list[str]:
    wanted = set(permissions)
    return [role for role, granted in ROLE_PERMISSIONS.items() if wanted <= set(granted)]


class RolePermission(BasePermission):
    """Each view names the model permissions (granted by the roles of core.roles) that
    each of its actions needs, in `required_permissions`: `{action or method: (...)}`.
    Anonymous callers get 401; an action the view does not name is refused."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        method = request.method.lower()
        if not hasattr(view, method) and method != "options":
            return True  # no such operation: DRF answers 405
        action = getattr(view, "action", None) or method
        needed = getattr(view, "required_permissions", {}).get(action)
        if needed is None:
            return action in ("metadata", "options")  # OPTIONS: see RoleMetadata
        if user.has_perms(needed):
            return True
        roles = _roles_granting(needed)
        self.message = (
            f"Your role does not allow this: it needs the {' or '.join(roles)} role."
            if roles
            else "Your role does not allow this: only an administrator can do it."
        )
        return False


class DocsPermission(BasePermission):
    """The schema and the interactive docs: signed-in users (with a session or a token),
    or everyone where the operator sets API_DOCS_PUBLIC."""

    def has_permission(self, request, view) -> bool:
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)


class RoleMetadata(SimpleMetadata):
    """OPTIONS names only what the caller may do: the `Allow` header lists the methods
    the caller's role allows on this path, and `actions` describes the input of those
    among POST and PUT. (DRF's own asks the permission of the OPTIONS request itself,
    which every signed-in caller has, so it offered POST to roles that cannot POST.)"""

    def determine_metadata(self, request, view) -> dict[str, Any]:
        permitted = [
            method
            for method in view.allowed_methods
            if method == "OPTIONS" or self._may(request, view, method)
        ]
        view.headers["Allow"] = ", ".join(permitted)
        self._permitted = set(permitted)
        return super().determine_metadata(request, view)

    def determine_actions(self, request, view) -> dict[str, Any]:
        actions = {}
        for method in sorted({"PUT", "POST"} & self._permitted):
            with _acting_as(view, request, method):
                actions[method] = self.get_serializer_info(view.get_serializer())
        return actions

    @staticmethod
    def _may(request, view, method: str) -> bool:
        with _acting_as(view, request, "GET" if method == "HEAD" else method):
            try:
                view.check_permissions(view.request)
            except (exceptions.APIException, DjangoPermissionDenied, Http404):
                return False
        return True


@contextmanager
def _acting_as(view, request, method: str) -> Iterator[None]:
    """The view as it is for a request of `method` to the same path: its request, and
    for a view set the action that method maps to."""
    saved_request, saved_action = view.request, getattr(view, "action", None)
    action_map = getattr(view, "action_map", None)
    view.request = clone_request(request, method)
    if action_map is not None:
        view.action = action_map.get(method.lower())
    try:
        yield
    finally:
        view.request = saved_request
        if action_map is not None:
            view.action = saved_action


# --- view sets -----------------------------------------------------------------------------


class IdFilter(django_filters.NumberFilter):
    """A filter on the id of a related object."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class ApiMixin(mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """For a GenericViewSet: lists and reads; writes are the view set's own actions,
    each calling a service. Every action needs the permissions `required_permissions`
    names for it. (A mixin, because DRF's generic views import this module for the
    pagination class: it cannot import them.)"""

    permission_classes = [RolePermission]
    required_permissions: dict[str, tuple[str, ...]] = {}

    def get_object(self) -> models.Model:
        queryset = self.get_queryset()
        raw = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        noun = queryset.model._meta.verbose_name
        try:
            record = queryset.get(pk=int(raw))
        except (ValueError, queryset.model.DoesNotExist):
            raise NotFound(f"There is no {noun} with id {raw}.") from None
        self.check_object_permissions(self.request, record)
        return record


# --- serializers and schema pieces ------------------------------------------------------


def reference_row_create(model: type[models.Model], **fields: Any) -> models.Model:
    """Add a row to a reference-data table (companies, GL accounts, tax codes, expense
    types). These rows carry no workflow and no audit; the model's own validation (and
    the serializer's, before it) keeps bad input from reaching the database."""
    row = model(**fields)
    row.full_clean()
    row.save()
    return row


def money_field(**kwargs: Any) -> serializers.DecimalField:
    """Money as a decimal string ("1250.00"), never a float."""
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


def reject_nul_characters(value: Any, path: str = "") -> None:
    """PostgreSQL stores no NUL character in text or JSON; refuse it as bad input."""
    if isinstance(value, str):
        if "\x00" in value:
            raise serializers.ValidationError(
                f"{path or 'The value'} contains a NUL character, which cannot be stored."
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_nul_characters(key, path)
            reject_nul_characters(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            reject_nul_characters(item, f"{path}[{index}]")


class ItemReferenceSerializer(serializers.Serializer):
    """A record a refusal concerns."""

    type = serializers.CharField(help_text="invoice, expense, freight, product, expense_sheet")
    id = serializers.IntegerField()
    reference = serializers.CharField(help_text='How a person finds it: "Invoice INV-1042".')


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A stable snake_case code from docs/api.md.")
    detail = serializers.CharField(help_text="A sentence a person understands.")
    items = ItemReferenceSerializer(
        many=True, required=False, help_text="The records a refused step concerns."
    )


class ValidationErrorSerializer(ErrorSerializer):
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages by field name; nested input as `lines[0].quantity`.",
    )


def error_responses(
    *, validation: bool = False, not_found: bool = False, conflicts: Iterable[str] = ()
) -> dict[int, OpenApiResponse]:
    """The error responses of an operation, for `extend_schema(responses=...)`."""
    responses = {
        status.HTTP_401_UNAUTHORIZED: OpenApiResponse(
            ErrorSerializer, description="not_authenticated: no or an invalid token/session."
        ),
        status.HTTP_403_FORBIDDEN: OpenApiResponse(
            ErrorSerializer, description="permission_denied: the caller's role does not allow it."
        ),
    }
    if validation:
        responses[status.HTTP_400_BAD_REQUEST] = OpenApiResponse(
            ValidationErrorSerializer, description="validation_error, with `fields`."
        )
    if not_found:
        responses[status.HTTP_404_NOT_FOUND] = OpenApiResponse(
            ErrorSerializer, description="not_found."
        )
    codes = list(conflicts)
    if codes:
        responses[status.HTTP_409_CONFLICT] = OpenApiResponse(
            ErrorSerializer,
            description="A refused workflow step, with `items` where it concerns records: "
            + ", ".join(codes)
            + ".",
        )
    return responses


def list_error_responses() -> dict[int, OpenApiResponse]:
    """The error responses of a paginated list: bad filters, and pages past the end."""
    responses = error_responses(validation=True)
    responses[status.HTTP_404_NOT_FOUND] = OpenApiResponse(
        ErrorSerializer, description="not_found: there is no such page."
    )
    return responses


class ReferenceDataMixin(mixins.CreateModelMixin, ApiMixin):
    """A reference-data table: list, read, add a row (see `reference_row_create`)."""

    def perform_create(self, serializer: serializers.ModelSerializer) -> None:
        serializer.instance = reference_row_create(
            serializer.Meta.model, **serializer.validated_data
        )


def read_schema(list_summary: str) -> Any:
    """Class decorator: the schema of a view set's list and retrieve, answering with its
    `serializer_class`."""

    def decorate(viewset: type) -> type:
        serializer = viewset.serializer_class
        return extend_schema_view(
            list=extend_schema(
                summary=list_summary,
                responses={200: serializer(many=True), **list_error_responses()},
            ),
            retrieve=extend_schema(responses={200: serializer, **error_responses(not_found=True)}),
        )(viewset)

    return decorate


def reference_schema(name: str) -> Any:
    """The schema of a reference-data view set: its serializer and its errors."""

    def decorate(viewset: type) -> type:
        serializer = viewset.serializer_class
        return extend_schema_view(
            create=extend_schema(
                summary=f"Add to {name}",
                responses={201: serializer, **error_responses(validation=True)},
            ),
        )(read_schema(f"List {name}")(viewset))

    return decorate


def create_schema(
    summary: str,
    serializer: type[serializers.Serializer],
    *,
    request: type[serializers.Serializer],
    conflicts: Iterable[str] = (),
) -> Any:
    """The schema of a create that answers 201 with the new object: its input can be
    refused as invalid; `conflicts` are the codes of the refusals of the create itself."""
    return extend_schema(
        summary=summary,
        request=request,
        responses={201: serializer, **error_responses(validation=True, conflicts=conflicts)},
    )


def step_schema(
    summary: str,
    serializer: type[serializers.Serializer],
    *,
    conflicts: Iterable[str] = (),
    request: type[serializers.Serializer] | None = None,
    description: str | None = None,
) -> Any:
    """The schema of a step on one object (an edit, a workflow step) that answers with
    the object: its input, if any, can be refused as invalid; the object may not exist;
    `conflicts` are the codes of the refusals of the step itself."""
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        responses={
            200: serializer,
            **error_responses(validation=request is not None, not_found=True, conflicts=conflicts),
        },
    )
