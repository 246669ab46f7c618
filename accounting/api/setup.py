"""The accounting package setup over HTTP (docs/api.md, "The accounting interface"): the one
setup row, restoring its saved options, and its audit trail."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounting import selectors
from accounting.api.records import AuditEventSerializer, audit_response
from accounting.models import AccountingSetup, ExportFormat, GLAccount, GLAccountType, Package
from accounting.services import setup as setup_services
from core.api import RolePermission, error_responses, reject_nul_characters


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
    "for example `books/main.beancount`, and `currency`. gnucash: `ledger_path` (a SQLite "
    'book there, for example `books/main.gnucash`) or `book_database: "postgresql"` (the '
    "book in the database the server's operator set)."
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
    paid_invoice_status = serializers.CharField(
        help_text="The closed invoice status a fully paid invoice moves to when payments "
        "come back from the package; empty: payments change no status."
    )
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
    create_ledger = serializers.BooleanField(
        required=False,
        default=False,
        help_text="With Direct Transfer on beancount: make the ledger `ledger_path` names, "
        "empty, when it does not exist; otherwise a ledger (or GnuCash book) that does not "
        "exist is refused (`options.ledger_path`).",
    )
    paid_invoice_status = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=50,
        help_text="The name of a closed invoice status (for example Paid) a fully paid "
        "invoice moves to when payments come back, audited; nothing sent changes and the "
        "invoice stays in its batch. Empty: payments change no status.",
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


class ConnectionTestSerializer(serializers.Serializer):
    package = serializers.CharField()
    ok = serializers.BooleanField(
        help_text="Whether a transfer could go through: the package opened and every GL "
        "account has its account there."
    )
    message = serializers.CharField(help_text="What was found, in a sentence.")
    found = serializers.DictField(
        help_text="What the package holds: accounts, transactions, sent_transactions, "
        "and the book's currency (GnuCash) or whether the ledger exists (beancount)."
    )
    problems = serializers.ListField(
        child=serializers.CharField(),
        help_text="Each GL account the package has no usable account for.",
    )


class SetupTestConnectionView(SingleResourceView):
    """Open the package the setup's direct transfer writes to, and report what is there."""

    serializer_class = ConnectionTestSerializer
    required_permissions = {"post": ("accounting.change_accountingsetup",)}

    @extend_schema(
        summary="Test the direct transfer's connection",
        description="Opens the ledger or book the setup names, as a transfer would, and "
        "reports what it holds; changes nothing. 400 when the package has no direct "
        "transfer or the setup names no usable ledger or book (`fields`); 409 when what it "
        "names cannot be read (`ledger_invalid`, `book_invalid`) or GnuCash holds the "
        "book open (`book_locked`). The message says why.",
        request=None,
        responses={
            200: ConnectionTestSerializer,
            **error_responses(
                validation=True, conflicts=["ledger_invalid", "book_invalid", "book_locked"]
            ),
        },
    )
    def post(self, request: Request) -> Response:
        return Response(setup_services.accounting_setup_test_connection())


class SetupAuditView(SingleResourceView):
    serializer_class = AuditEventSerializer
    required_permissions = {"get": ("accounting.view_accountingsetup",)}

    @extend_schema(
        summary="Audit trail of the setup",
        responses={200: AuditEventSerializer(many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        return audit_response(record_type=setup_services.SETUP_RECORD_TYPE, record_id=None)
