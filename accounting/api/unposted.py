"""Unposted records over HTTP (docs/api.md, "The accounting interface"): finished records in
no batch, a page by position."""

from collections import defaultdict

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounting import selectors
from accounting.api.records import VIEW_BATCHES, RecordTypeField, SentChangeSerializer
from accounting.postables import kind_types
from core.api import Pagination, RolePermission, list_error_responses, money_field


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
    changed_since_sent = SentChangeSerializer(
        allow_null=True,
        required=False,
        help_text="Sent before and edited since: what the package holds (`sent`) and the "
        "record now (`now`); null when it is unchanged or was never sent.",
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
