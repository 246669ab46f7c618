"""Input checks of the purchase order services: each parses what a caller gave, adds
what is wrong to `errors` ({field: [message]}) and returns the parsed value (or None)."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from accounting.door import GLAccount, TaxCode, to_cents
from core.inputs import (
    UNSET,
    add_nested_errors,
    check_bool,
    check_description,
    check_instance,
    check_line_list,
    check_line_object,
    fits_money,
    parse_non_negative_money,
    parse_quantity,
    raise_if_errors,
)
from procurement.models import POStatus
from procurement.postables import purchase_tax

LINE_FIELDS = {"description", "quantity", "unit_cost", "gl_account"}


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: Decimal
    unit_cost: Decimal
    gl_account: GLAccount | None

    @property
    def amount(self) -> Decimal:
        return to_cents(self.quantity * self.unit_cost)


def parse_unit_cost(value: Any, *, field: str, errors: dict[str, list[str]]) -> Decimal | None:
    return parse_non_negative_money(value, field=field, errors=errors, noun="unit cost")


def parse_freight_amount(value: Any, errors: dict[str, list[str]]) -> Decimal | None:
    return parse_non_negative_money(value, field="freight_amount", errors=errors, noun="freight")


def _check_amount_fits(line: LineInput, *, field: str, errors: dict[str, list[str]]) -> bool:
    if not fits_money(line.quantity * line.unit_cost):
        errors.setdefault(field, []).append("Quantity times unit cost is too large.")
        return False
    return True


def fits_with_tax(amount: Decimal, tax_code: TaxCode | None) -> bool:
    """Whether a product line's total with the purchase order's tax fits a money column."""
    return fits_money(amount + purchase_tax(amount, tax_code))


def check_totals_fit(
    lines: Sequence[LineInput],
    tax_code: TaxCode | None,
    *,
    prefix: str,
    errors: dict[str, list[str]],
) -> None:
    """A line's total with the purchase order's tax must fit too."""
    for index, line in enumerate(lines):
        if not fits_with_tax(line.amount, tax_code):
            errors.setdefault(f"{prefix}[{index}].unit_cost", []).append(
                "The line's total with tax is too large."
            )


def parse_line(line: Any, prefix: str, errors: dict[str, list[str]]) -> LineInput | None:
    if not check_line_object(line, LINE_FIELDS, field=prefix, errors=errors):
        return None
    line_errors: dict[str, list[str]] = {}
    description = line.get("description")
    check_description(description, field="description", errors=line_errors, noun="product")
    quantity = parse_quantity(line.get("quantity"), field="quantity", errors=line_errors)
    unit_cost = parse_unit_cost(line.get("unit_cost"), field="unit_cost", errors=line_errors)
    gl_account = line.get("gl_account")
    check_instance(gl_account, GLAccount, field="gl_account", errors=line_errors, required=False)
    add_nested_errors(errors, prefix, line_errors)
    # `prefix` itself has messages only for unknown fields (see check_line_object).
    if line_errors or prefix in errors:
        return None
    parsed = LineInput(description.strip(), quantity, unit_cost, gl_account)
    if not _check_amount_fits(parsed, field=f"{prefix}.quantity", errors=errors):
        return None
    return parsed


def parse_lines(lines: Any, errors: dict[str, list[str]]) -> list[LineInput]:
    if lines is None:
        return []
    if not check_line_list(lines, errors=errors):
        return []
    parsed = [parse_line(line, f"lines[{index}]", errors) for index, line in enumerate(lines)]
    return [line for line in parsed if line is not None]


def parse_status(value: Any, errors: dict[str, list[str]]) -> POStatus | None:
    try:
        return POStatus(value)
    except ValueError:
        errors.setdefault("status", []).append(
            f"'{value}' is not a purchase order status; use open or closed."
        )
        return None


def parse_order_changes(
    *, status: Any, freight_amount: Any, freight_gl_account: Any, tax_code: Any
) -> tuple[POStatus | None, Decimal | None]:
    """Check the changes given to a purchase order (None, or UNSET where None clears a
    value, is no change); the new status and freight amount, parsed."""
    errors: dict[str, list[str]] = {}
    new_status = parse_status(status, errors) if status is not None else None
    new_freight = (
        parse_freight_amount(freight_amount, errors) if freight_amount is not None else None
    )
    if freight_gl_account is not UNSET:
        check_instance(
            freight_gl_account,
            GLAccount,
            field="freight_gl_account",
            errors=errors,
            required=False,
        )
    if tax_code is not UNSET:
        check_instance(tax_code, TaxCode, field="tax_code", errors=errors, required=False)
    raise_if_errors(errors, "purchase order")
    return new_status, new_freight


def parse_added_line(line: dict[str, Any], tax_code: TaxCode | None) -> LineInput:
    """A product line added to a purchase order with `tax_code`, its errors named by the
    fields as the caller passed them."""
    errors: dict[str, list[str]] = {}
    parsed = parse_line(line, "line", errors)
    # Field names as the caller passed them, not prefixed.
    errors = {name.removeprefix("line."): messages for name, messages in errors.items()}
    if parsed is not None and not fits_with_tax(parsed.amount, tax_code):
        errors.setdefault("unit_cost", []).append("The line's total with tax is too large.")
    raise_if_errors(errors, "product line")
    return parsed  # type: ignore[return-value]  # raise_if_errors raised when it is None


def parse_line_changes(
    *, description: Any, quantity: Any, unit_cost: Any, gl_account: Any, closed: Any
) -> tuple[Decimal | None, Decimal | None]:
    """Check the changes given to a product line (None, or UNSET for the account, is no
    change); the new quantity and unit cost, parsed."""
    errors: dict[str, list[str]] = {}
    if description is not None:
        check_description(description, field="description", errors=errors, noun="product")
    new_quantity = (
        parse_quantity(quantity, field="quantity", errors=errors) if quantity is not None else None
    )
    new_unit_cost = (
        parse_unit_cost(unit_cost, field="unit_cost", errors=errors)
        if unit_cost is not None
        else None
    )
    if gl_account is not UNSET:
        check_instance(gl_account, GLAccount, field="gl_account", errors=errors, required=False)
    if closed is not None:
        check_bool(closed, field="closed", errors=errors)
    raise_if_errors(errors, "product line")
    return new_quantity, new_unit_cost
