"""Two batch creations at once over overlapping records, on two connections."""

import threading

import pytest
from django.db import connection

from accounting import services as accounting
from core.errors import ApplicationError
from invoicing.models import Invoice


def run_together(*steps):
    """Start each step on its own thread (own database connection) at the same time."""
    barrier = threading.Barrier(len(steps))
    outcomes = [None] * len(steps)

    def runner(index, step):
        try:
            barrier.wait()
            outcomes[index] = ("ok", step())
        except ApplicationError as error:
            outcomes[index] = ("refused", error.code)
        except Exception as error:  # the test reports anything else as a failure
            outcomes[index] = ("error", repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, s)) for i, s in enumerate(steps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("round_", range(3))
def test_concurrent_batch_creations_put_every_record_in_exactly_one_batch(
    round_, finance, make_invoice
):
    invoices = [make_invoice() for _ in range(30)]
    ids = [invoice.pk for invoice in invoices]
    first = [{"type": "invoice", "id": pk} for pk in ids[:20]]
    second = [{"type": "invoice", "id": pk} for pk in ids[10:]]

    outcomes = run_together(
        lambda: (
            accounting.batch_create(actor=finance, items=first, batch_identifier=f"A-{round_}").pk
        ),
        lambda: (
            accounting.batch_create(actor=finance, items=second, batch_identifier=f"B-{round_}").pk
        ),
    )

    assert all(kind in ("ok", "refused") for kind, _ in outcomes), outcomes
    assert {value for kind, value in outcomes if kind == "refused"} <= {"already_batched"}
    winners = [value for kind, value in outcomes if kind == "ok"]
    assert winners, outcomes
    requested = {0: set(ids[:20]), 1: set(ids[10:])}
    won = set()
    for index, (kind, batch_id) in enumerate(outcomes):
        if kind == "ok":
            # A batch holds all it asked for: no partial batches.
            batched = Invoice.objects.filter(gl_batch_id=batch_id).values_list("pk", flat=True)
            assert set(batched) == requested[index]
            won |= requested[index]
    in_a_batch = Invoice.objects.filter(pk__in=ids, gl_batch__isnull=False)
    assert set(in_a_batch.values_list("pk", flat=True)) == won


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_all_unposted_batches_split_the_records(finance, make_invoice):
    ids = {make_invoice().pk for _ in range(40)}
    outcomes = run_together(
        lambda: (
            accounting.batch_create(actor=finance, all_unposted=True, batch_identifier="ALL-1").pk
        ),
        lambda: (
            accounting.batch_create(actor=finance, all_unposted=True, batch_identifier="ALL-2").pk
        ),
    )
    assert all(kind in ("ok", "refused") for kind, _ in outcomes), outcomes
    batch_ids = [value for kind, value in outcomes if kind == "ok"]
    counts = [Invoice.objects.filter(gl_batch_id=b).count() for b in batch_ids]
    assert sum(counts) == len(ids)
    assert Invoice.objects.filter(pk__in=ids, gl_batch__isnull=True).count() == 0
