"""Each kind's ready rule is defined once: what a record page says about one record in
memory (`is_ready`) is what the database's filter (`ready_filter`) finds for it."""

from decimal import Decimal

import pytest
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounting.batch_fields import Batching, matches
from accounting.postables import get_kind, kinds
from expenses.models import ExpenseEntry
from invoicing.models import Invoice
from procurement.models import POStatus, PurchaseOrder, PurchaseOrderLine

amounts = st.one_of(
    st.just(Decimal("0")),
    st.decimals(min_value=Decimal("0"), max_value=Decimal("99999.99"), places=2),
)
# Every state a record's ready columns can hold (a line is closed only once received).
COLUMNS = {
    "invoice": st.fixed_dictionaries({"is_closed": st.booleans()}),
    "expense": st.fixed_dictionaries({"is_approved": st.booleans()}),
    "freight": st.fixed_dictionaries(
        {"status": st.sampled_from(POStatus.values), "freight_amount": amounts}
    ),
    "product": st.sampled_from([(False, False), (True, False), (True, True)]).map(
        lambda pair: {"received": pair[0], "closed": pair[1]}
    ),
}
SLOW = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def records(make_invoice, make_expense, make_purchase_order):
    """One record of each kind, its ready columns set by each example."""
    purchase_order, line = make_purchase_order(received=False, closed=False)
    return {
        "invoice": make_invoice(closed=False),
        "expense": make_expense(approved=False),
        "freight": purchase_order,
        "product": line,
    }


def test_every_kind_has_a_ready_rule_to_check():
    assert sorted(COLUMNS) == sorted(kind.type for kind in kinds())


@pytest.mark.django_db
@SLOW
@given(data=st.data())
def test_is_ready_agrees_with_the_ready_filter_for_every_kind(records, data):
    for kind in kinds():
        columns = data.draw(COLUMNS[kind.type], label=kind.type)
        kind.model.objects.filter(pk=records[kind.type].pk).update(**columns)
        record = kind.model.objects.get(pk=records[kind.type].pk)
        in_database = kind.model.objects.filter(kind.ready_filter(), pk=record.pk).exists()
        assert kind.is_ready(record) == in_database, (kind.type, columns)


def conditions():
    """Conditions on a purchase order's own columns, nested with &, | and ~."""
    atoms = st.one_of(
        st.sampled_from(POStatus.values).map(lambda value: Q(status=value)),
        amounts.map(lambda value: Q(freight_amount=value)),
        amounts.map(lambda value: Q(freight_amount__gt=value)),
        amounts.map(lambda value: Q(freight_amount__lte=value)),
        st.lists(amounts, min_size=1, max_size=3).map(lambda values: Q(freight_amount__in=values)),
        st.booleans().map(lambda value: Q(freight_gl_batch__isnull=value)),
    )
    return st.recursive(
        atoms,
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda pair: pair[0] & pair[1]),
            st.tuples(inner, inner).map(lambda pair: pair[0] | pair[1]),
            inner.map(lambda condition: ~condition),
        ),
        max_leaves=6,
    )


@pytest.mark.django_db
@SLOW
@given(condition=conditions(), columns=COLUMNS["freight"])
def test_a_condition_met_in_memory_is_met_in_the_database(make_purchase_order, condition, columns):
    order, _ = make_purchase_order(received=False, closed=False)
    PurchaseOrder.objects.filter(pk=order.pk).update(**columns)
    order.refresh_from_db()
    expected = PurchaseOrder.objects.filter(condition, pk=order.pk).exists()
    assert matches(condition, order) == expected


def test_a_ready_rule_reads_only_the_records_own_columns():
    with pytest.raises(ValueError, match="purchase_order__status"):
        Batching("product", ready=Q(purchase_order__status="closed"), date_field="date")


@pytest.mark.django_db
def test_a_record_names_itself_as_its_adapter_does(make_invoice, make_expense, make_purchase_order):
    purchase_order, line = make_purchase_order()
    for record in (make_invoice(), make_expense(), line):
        kind = next(kind for kind in kinds() if isinstance(record, kind.model))
        assert str(record) == kind.reference(record)
    assert str(line) == f"Product {line.pk} on PO {purchase_order.number}"
    assert get_kind("freight").reference(purchase_order) == (
        f"Freight on PO {purchase_order.number}"
    )


@pytest.mark.django_db
def test_a_record_is_locked_exactly_while_it_is_in_a_batch(make_invoice):
    invoice = make_invoice()
    kind = get_kind("invoice")
    assert not invoice.is_locked() and not kind.is_locked(invoice)
    invoice.gl_batch_id = 1  # unsaved: the rule reads the column only
    assert invoice.is_locked() and kind.is_locked(invoice)


def test_each_model_declares_the_batching_its_adapter_uses():
    declared = {
        "invoice": Invoice.batching,
        "expense": ExpenseEntry.batching,
        "freight": PurchaseOrder.freight_batching,
        "product": PurchaseOrderLine.batching,
    }
    assert {kind.type: kind.batching for kind in kinds()} == declared
