"""Checks of what a service is given, shared by the record apps' services, so that an
invoice, an expense and a purchase order refuse the same mistake in the same words.

A check adds its messages to `errors` ({field name: [messages]}) instead of raising, so
a service reports every mistake of a call at once; `raise_if_errors` then refuses it.
This module imports no app (an import-linter contract holds it to that): every app
may use it.
"""

import datetime
from collections.abc import Mapping, Sequence, Set
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models

from core.errors import InvalidInput

Errors = dict[str, list[str]]

# The record apps' decimal columns: quantities, and money (2 of the digits are decimals).
QUANTITY_DIGITS = 14
MONEY_DIGITS = 20


class _Unset:
    """Marks an argument the caller did not pass, where None is a meaningful value."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


# Money columns are DecimalField(max_digits=20, decimal_places=2).
MONEY_LIMIT = Decimal(10) ** 18


def fits_money(value: Decimal) -> bool:
    """Whether an amount fits a money column (checked before rounding, which a value
    of more than 28 digits would make fail)."""
    return abs(value) < MONEY_LIMIT


def add_error(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def add_nested_errors(errors: Errors, prefix: str, nested: Errors) -> None:
    """The messages of one part of the input (a line) under `<prefix>.<field>`."""
    for name, messages in nested.items():
        errors.setdefault(f"{prefix}.{name}", []).extend(messages)


def raise_if_errors(errors: Errors, what: str) -> None:
    if errors:
        raise InvalidInput(f"The {what} has errors; correct the fields listed.", fields=errors)


# Values -------------------------------------------------------------------------------


def parse_decimal(
    value: Any, *, field: str, errors: Errors, max_digits: int, places: int = 2
) -> Decimal | None:
    """A Decimal that fits the model column, or None with the reason in `errors`."""
    if isinstance(value, float | bool) or value is None:
        add_error(
            errors,
            field,
            'Give a decimal number such as "12.50" (a string or Decimal, never a float).',
        )
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        add_error(errors, field, f"'{value}' is not a number.")
        return None
    if not number.is_finite():
        add_error(errors, field, "Give a finite number.")
        return None
    exponent = number.as_tuple().exponent  # an int: the number is finite
    if isinstance(exponent, int) and exponent < -places:
        add_error(errors, field, f"Use at most {places} decimal places.")
        return None
    if abs(number) >= Decimal(10) ** (max_digits - places):
        add_error(
            errors, field, f"Use at most {max_digits - places} digits before the decimal point."
        )
        return None
    return number


def parse_quantity(value: Any, *, field: str, errors: Errors) -> Decimal | None:
    quantity = parse_decimal(value, field=field, errors=errors, max_digits=QUANTITY_DIGITS)
    if quantity is not None and quantity <= 0:
        add_error(errors, field, "The quantity must be more than zero.")
        return None
    return quantity


def parse_non_negative_money(
    value: Any, *, field: str, errors: Errors, noun: str
) -> Decimal | None:
    """An amount of money of zero or more; `noun` names it in the refusal."""
    amount = parse_decimal(value, field=field, errors=errors, max_digits=MONEY_DIGITS)
    if amount is not None and amount < 0:
        add_error(errors, field, f"The {noun} cannot be negative.")
        return None
    return amount


def check_date(value: Any, *, field: str, errors: Errors) -> None:
    # A datetime is a date too, to isinstance; a date column would drop its time.
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        add_error(errors, field, "Give a date (YYYY-MM-DD).")


def check_instance(
    value: Any, model: type[models.Model], *, field: str, errors: Errors, required: bool
) -> None:
    """A saved row of `model`; None is refused only where `required`."""
    if value is None:
        if required:
            add_error(errors, field, "This field is required.")
        return
    if not isinstance(value, model) or value.pk is None:
        add_error(errors, field, f"Give a saved {model._meta.verbose_name}.")


def check_description(value: Any, *, field: str, errors: Errors, noun: str) -> None:
    """Text that is not blank and fits the 500 characters of a description column;
    `noun` says what it describes."""
    if not isinstance(value, str) or not value.strip():
        add_error(errors, field, f"Describe the {noun}.")
    elif len(value.strip()) > 500:
        add_error(errors, field, "Use at most 500 characters.")


def check_bool(value: Any, *, field: str, errors: Errors) -> None:
    if not isinstance(value, bool):
        add_error(errors, field, "Give true or false.")


# Lines of a record ---------------------------------------------------------------------


def check_line_list(lines: Any, *, errors: Errors) -> bool:
    """Whether `lines` is a list (a sequence that is not text or an object)."""
    if isinstance(lines, str | bytes | Mapping) or not isinstance(lines, Sequence):
        add_error(errors, "lines", "Give the lines as a list.")
        return False
    return True


def check_line_object(line: Any, known_fields: Set[str], *, field: str, errors: Errors) -> bool:
    """Whether `line` is an object (a mapping), so its fields can be checked.

    Fields outside `known_fields` are refused under `field`; the known ones are still
    worth checking, so that one answer lists every mistake. A line is good, then, only
    where `field` has no message.
    """
    if not isinstance(line, Mapping):
        add_error(errors, field, "Give each line as an object.")
        return False
    unknown = sorted(set(line) - known_fields)
    if unknown:
        add_error(errors, field, f"Unknown fields: {', '.join(unknown)}.")
    return True
