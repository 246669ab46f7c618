"""The check of every response against ConnectWise's generated models (pyconnectwise)
refuses what a client generated from ConnectWise's OpenAPI document would not read."""

import pydantic
import pytest

from tests.cwapi import cw_models as m

BATCH = {
    "id": 7,
    "batchIdentifier": "20261127-101500",
    "exportInvoicesFlag": True,
    "exportExpensesFlag": False,
    "exportProductsFlag": False,
    "closedFlag": True,
    "_info": {"lastUpdated": "2026-11-27T10:15:00Z", "updatedBy": "finance"},
}


def test_a_body_as_connectwise_shapes_it_passes():
    m.generated(m.AccountingBatch, BATCH)


def test_a_field_the_generated_model_does_not_have_fails():
    with pytest.raises(AssertionError, match="batchColour"):
        m.generated(m.AccountingBatch, {**BATCH, "batchColour": "red"})


def test_an_unknown_field_inside_a_nested_object_fails():
    entry = {"id": 1, "accountNumber": "4000", "invoice": {"id": 3, "colour": "red"}}
    with pytest.raises(AssertionError, match="invoice/colour"):
        m.generated(m.BatchEntry, entry)


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", "7"), ("closedFlag", 1), ("batchIdentifier", 20261127)],
)
def test_a_mistyped_value_fails(field, value):
    with pytest.raises(pydantic.ValidationError):
        m.generated(m.AccountingBatch, {**BATCH, field: value})


def test_a_value_outside_connectwise_enum_fails():
    with pytest.raises(pydantic.ValidationError, match="classification"):
        m.generated(m.UnpostedExpense, {"id": 1, "classification": "Sometimes"})
