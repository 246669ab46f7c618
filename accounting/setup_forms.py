"""The accounting package setup as a form: the package, Direct Transfer, the export
format, and each option the chosen package and export format declare
(`accounting.setup_options`) as a typed field with its help text. The Finance setup
screen and the Django admin build their forms here, so both show the same fields.

`setup_form_class(package, export_format)` is the form class of one package and export
format (built once, from the declarations); its `options()` are the options as the
setup stores them (an empty field is left out: the option's default). A Xero setup adds
the client id and the write-only client secret of the PSA's Xero app.

Forms check what was typed (each option's type, as the declaration says) and ask the
setup services what saving would refuse (`setup_errors`, on the options as they would
be held), so that a refusal is a field error and nothing is saved.
"""

from collections.abc import MutableMapping
from functools import cache
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict

from accounting.models import AccountingSetup, ExportFormat, Package
from accounting.services import setup as setup_services
from accounting.setup_options import (
    CHOICE,
    MAPPING,
    Option,
    declared_options,
    value_problem,
)
from core.inputs import UNSET

OPTION_PREFIX = "option_"
DIRECT_TRANSFER_HELP = (
    "Send batches straight into the accounting package. Clearing it sets the package's "
    "options aside, as in the vendor product; ticking it again brings them back."
)
CREATE_LEDGER_HELP = (
    "Beancount only: when no ledger of that name is in the ledger folder, start a new "
    "empty one there. Left clear, a name that does not exist is refused."
)


class MappingField(forms.Field):
    """An option that maps names to names, typed one pair a line: `4000 = Consulting`."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return "\n".join(f"{key} = {item}" for key, item in value.items())
        return value

    def to_python(self, value: Any) -> dict[str, str] | None:
        text = str(value).strip() if value is not None else ""
        if not text:
            return None
        mapping: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            key, equals, item = line.partition("=")
            if not equals or not key.strip() or not item.strip():
                raise ValidationError(
                    f"Line {number} is not a pair: write one a line, name = value, for "
                    "example 4000 = Consulting."
                )
            mapping[key.strip()] = item.strip()
        return mapping


def option_field_name(name: str) -> str:
    return OPTION_PREFIX + name


def option_field(option: Option) -> forms.Field:
    """The typed field of an option: a choice of its values (empty: its default), a
    mapping typed one pair a line, or one line of text. Every option may be left
    empty (its default); one Direct Transfer needs says so beside its label."""
    field = _typed_field(option)
    field.needed_for_direct_transfer = bool(  # type: ignore[attr-defined]
        option.required_for_direct_transfer or option.required_when
    )
    return field


def _typed_field(option: Option) -> forms.Field:
    common: dict[str, Any] = {"label": option.label, "help_text": option.help, "required": False}
    if option.kind == CHOICE:
        default = f"Default ({option.default})" if option.default is not None else "Not set"
        return forms.ChoiceField(
            choices=[("", default), *((value, value) for value in option.choices)], **common
        )
    if option.kind == MAPPING:
        common["help_text"] = f"{option.help} Type one pair a line: name = value."
        return MappingField(**common)
    attrs = {"placeholder": option.default} if option.default else {}
    return forms.CharField(
        max_length=1000, widget=forms.TextInput(attrs=attrs), strip=True, **common
    )


class SetupFormMixin:
    """What every setup form class shares: the options from the option fields, their
    checks, and the setup services' own checks as field errors."""

    for_package: str
    for_export_format: str
    option_names: tuple[str, ...]

    if TYPE_CHECKING:  # given by the form class it is mixed into
        fields: dict[str, forms.Field]
        cleaned_data: dict[str, Any]
        initial: MutableMapping[str, Any]
        errors: ErrorDict

        def add_error(self, field: str | None, error: Any) -> None: ...

    def setup_initial(self, setup: AccountingSetup) -> None:
        held = setup.options if isinstance(setup.options, dict) else {}
        for name in self.option_names:
            if held.get(name) is not None:
                self.initial[option_field_name(name)] = held[name]
        if self.for_package == "xero":
            self.initial["xero_client_id"] = setup_services.xero_connection_state()["client_id"]

    def options(self) -> dict[str, Any]:
        """The options typed, as the setup holds them: empty fields left out."""
        values = {}
        for name in self.option_names:
            value = self.cleaned_data.get(option_field_name(name))
            if value not in (None, "", {}):
                values[name] = value
        return values

    def options_given(self, setup: AccountingSetup) -> Any:
        """The options to hand the setup services: UNSET when they are what the setup
        holds, so that clearing Direct Transfer sets them aside and ticking it again
        brings the set-aside ones back."""
        options = self.options()
        held = setup.options if isinstance(setup.options, dict) else {}
        return UNSET if options == held else options

    def add_setup_errors(self, errors: dict[str, list[str]]) -> None:
        """Field errors the setup services answered (`options.<name>` on the option's
        field; others on their own field, or the form)."""
        for key, texts in errors.items():
            name, _, option = key.partition(".")
            field = option_field_name(option) if option else name
            for text in texts:
                if field in self.fields:
                    self.add_error(field, text)
                elif option:
                    self.add_error(None, f"{option}: {text}")
                else:
                    self.add_error(None, text)

    def check_options(self, setup: AccountingSetup) -> None:
        """Each option's type, then what saving would refuse, as field errors."""
        declared = declared_options(self.for_package, self.for_export_format)
        for name in self.option_names:
            field = option_field_name(name)
            value = self.cleaned_data.get(field)
            if value in (None, "") or field in getattr(self, "errors", {}):
                continue
            problem = value_problem(declared[name], value)
            if problem:
                self.add_error(field, problem)
        if any(option_field_name(name) in self.errors for name in self.option_names):
            return
        direct_transfer = bool(self.cleaned_data.get("direct_transfer"))
        options, _ = setup_services.options_after(
            setup, direct_transfer=direct_transfer, options=self.options_given(setup)
        )
        self.add_setup_errors(
            setup_services.setup_errors(
                package=self.for_package,
                export_format=self.for_export_format,
                direct_transfer=direct_transfer,
                options=options,
                create_ledger=bool(self.cleaned_data.get("create_ledger")),
            )
        )

    def check_setup(self, setup: AccountingSetup) -> None:
        self.check_options(setup)
        if self.for_package == "xero":
            self.check_xero()

    def check_xero(self) -> None:
        client_id = self.cleaned_data.get("xero_client_id") or ""
        secret = self.cleaned_data.get("xero_client_secret") or ""
        held = setup_services.xero_connection_state()
        if client_id != held["client_id"] and not secret:
            self.add_error(
                "xero_client_secret",
                "Give the client secret that goes with the new client id.",
            )
        elif secret and not client_id:
            self.add_error("xero_client_id", "Give the client id the secret belongs to.")

    def xero_credentials(self) -> tuple[str, str] | None:
        """The Xero app's client id and secret to store, when a new secret was typed."""
        secret = self.cleaned_data.get("xero_client_secret") or ""
        if self.for_package != "xero" or not secret:
            return None
        return self.cleaned_data.get("xero_client_id") or "", secret


class SetupForm(SetupFormMixin, forms.Form):
    """The Finance setup screen's form (see `setup_form_class`)."""

    package = forms.ChoiceField(label="Accounting package", choices=Package.choices)
    direct_transfer = forms.BooleanField(
        label="Direct transfer", required=False, help_text=DIRECT_TRANSFER_HELP
    )
    export_format = forms.ChoiceField(
        label="Export format",
        choices=ExportFormat.choices,
        help_text="The file a batch is written to when it is not sent directly.",
    )
    create_ledger = forms.BooleanField(
        label="Create a new empty ledger here", required=False, help_text=CREATE_LEDGER_HELP
    )
    paid_invoice_status = forms.CharField(
        label="Status for fully paid invoices",
        required=False,
        max_length=50,
        help_text="The closed invoice status (for example Paid) a fully paid invoice moves "
        "to when payments come back from the package; nothing sent changes. Empty: "
        "payments change no status.",
    )

    def __init__(self, *args: Any, setup: AccountingSetup, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup = setup
        self.setup_initial(setup)
        self.initial["paid_invoice_status"] = setup.paid_invoice_status

    def clean(self) -> dict[str, Any]:
        super().clean()
        self.check_setup(self.setup)
        return self.cleaned_data


def _option_fields(package: str, export_format: str) -> dict[str, forms.Field]:
    return {
        option_field_name(name): option_field(option)
        for name, option in declared_options(package, export_format).items()
    }


def _xero_fields() -> dict[str, forms.Field]:
    return {
        "xero_client_id": forms.CharField(
            label="Client id",
            required=False,
            max_length=100,
            help_text="The client id of the PSA's custom connection app, from Xero's "
            "developer portal.",
        ),
        "xero_client_secret": forms.CharField(
            label="Client secret",
            required=False,
            max_length=200,
            strip=True,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
            help_text="Write-only: it is stored encrypted and never shown again. Leave "
            "empty to keep the one set.",
        ),
    }


@cache
def setup_form_class(package: str, export_format: str, base: type | None = None) -> type[Any]:
    """The setup form of one package and export format: the setup's fields and a typed
    field for each option they declare, on `base` (the setup screen's `SetupForm`, or
    the admin's model form)."""
    if package not in Package.values:
        package = Package.OTHER
    if export_format not in ExportFormat.values:
        export_format = ExportFormat.GL_JOURNAL_CSV
    fields: dict[str, Any] = _option_fields(package, export_format)
    if package == "xero":
        fields.update(_xero_fields())
    if package != "beancount":
        fields["create_ledger"] = None  # new ledgers are beancount's only
    fields.update(
        for_package=package,
        for_export_format=export_format,
        option_names=tuple(declared_options(package, export_format)),
    )
    base = base or SetupForm
    return type(f"{base.__name__}_{package}_{export_format}", (base,), fields)
