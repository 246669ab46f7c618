"""Transfers that lose their process, their database connection or their broker, on a
real Celery worker and beat with a real Redis broker: each ends done, every record sent
exactly once."""

import socket
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from beancount import loader
from beancount.core.data import Transaction
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from accounting import selectors, tasks
from accounting import services as accounting
from accounting.models import AccountingSetup, AuditEvent, GLBatch, TransferLog, TransferState
from config.celery import app as celery_app
from tests.helpers import wait_for
from tests.tasks.conftest import REDIS_URL, reset_connections
from tests.tasks.test_worker_transfers import closed_invoices, file_rows

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The broker would deliver a killed worker's task again only after an hour: whatever
# brings the transfer back here is the lease and the sweep.
NO_REDELIVERY = {"CELERY_VISIBILITY_TIMEOUT": "3600"}


def state(batch) -> str:
    return GLBatch.objects.get(pk=batch.pk).transfer_state


def shown_state(batch) -> str:
    """As users see it: running with an expired lease is interrupted."""
    return GLBatch.objects.get(pk=batch.pk).current_transfer_state


def logged_once(batch, ids) -> None:
    logged = Counter(TransferLog.objects.filter(batch=batch).values_list("record_id", flat=True))
    assert set(logged) == set(ids) and set(logged.values()) == {1}


def test_a_killed_file_transfer_is_interrupted_then_taken_up_by_the_sweep_exactly_once(
    workers, book, finance
):
    ids = closed_invoices(book["client"], 16000)
    first = workers(**NO_REDELIVERY)
    batch = accounting.batch_create(actor=finance, all_unposted=True)
    wait_for(
        lambda: TransferLog.objects.filter(batch=batch).exists(),
        timeout=120,
        what="the transfer to start logging records",
        interval=0.05,
    )
    first.kill()
    assert 0 < TransferLog.objects.filter(batch=batch).count() < len(ids)
    wait_for(
        lambda: shown_state(batch) == TransferState.INTERRUPTED,
        timeout=30,
        what="the killed worker's lease to expire",
    )

    workers(**NO_REDELIVERY)
    workers(beat=True)
    wait_for(
        lambda: state(batch) == TransferState.DONE,
        timeout=240,
        what="the sweep to queue the transfer again and a worker to finish it",
        interval=0.5,
    )
    batch.refresh_from_db()
    per_invoice = Counter(row["reference"] for row in file_rows(batch))
    assert len(per_invoice) == len(ids)
    assert set(per_invoice.values()) == {2}  # receivable and income: each record once
    logged_once(batch, ids)
    actions = set(AuditEvent.objects.filter(batch=batch).values_list("action", flat=True))
    assert {"transfer_interrupted", "transfer_requeued", "transfer_done"} <= actions


@pytest.fixture
def ledger(tmp_path, settings):
    root = tmp_path / "ledgers"
    root.mkdir()
    settings.LEDGER_ROOT = root
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": "books.beancount"}
    )
    return root / "books.beancount"


def test_a_killed_beancount_transfer_is_taken_up_and_writes_each_record_once(
    workers, book, finance, ledger
):
    ids = closed_invoices(book["client"], 8000)
    env = {**NO_REDELIVERY, "LEDGER_ROOT": str(ledger.parent)}
    first = workers(**env)
    batch = accounting.batch_create(actor=finance, all_unposted=True)
    assert batch.transfer_method == "direct"
    wait_for(
        lambda: TransferLog.objects.filter(batch=batch).exists(),
        timeout=120,
        what="the first chunk to reach the ledger",
        interval=0.05,
    )
    first.kill()
    assert 0 < TransferLog.objects.filter(batch=batch).count() < len(ids)

    workers(**env)
    workers(beat=True, **env)
    wait_for(
        lambda: state(batch) == TransferState.DONE,
        timeout=300,
        what="the sweep to queue the transfer again and a worker to finish it",
        interval=0.5,
    )
    entries, errors, _options = loader.load_file(str(ledger))
    assert errors == []
    per_record = Counter(
        entry.meta["psa_record"] for entry in entries if isinstance(entry, Transaction)
    )
    assert set(per_record) == {f"invoice:{pk}" for pk in ids}
    assert set(per_record.values()) == {1}
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, Transaction):
            for posting in entry.postings:
                balances[posting.account] += posting.units.number
    assert sum(balances.values()) == 0
    logged_once(batch, ids)


def _worker_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_transfer_cut_off_from_the_database_fails_with_a_reason_and_sends_once_on_retry(
    workers, book, finance
):
    ids = closed_invoices(book["client"], 16000)
    workers()
    batch = accounting.batch_create(actor=finance, all_unposted=True)
    wait_for(
        lambda: TransferLog.objects.filter(batch=batch).exists(),
        timeout=120,
        what="the transfer to start logging records",
        interval=0.05,
    )
    with connection.cursor() as cursor:
        for pid in _worker_backends():  # the worker's, its log writer's, its lease's
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

    wait_for(
        lambda: state(batch) == TransferState.FAILED,
        timeout=60,
        what="the transfer to record its failure",
    )
    batch.refresh_from_db()
    assert batch.transfer_error.startswith("The transfer stopped on an unexpected error")
    assert "terminat" not in batch.transfer_error
    assert not batch.file
    # Rows the run stored before it was cut off do not say the records were sent.
    assert selectors.live_sends("invoice", ids[:2000]) == {}

    accounting.batch_retry(actor=finance, batch_id=batch.pk)
    wait_for(
        lambda: state(batch) == TransferState.DONE,
        timeout=240,
        what="the retried transfer to finish",
        interval=0.5,
    )
    batch.refresh_from_db()
    per_invoice = Counter(row["reference"] for row in file_rows(batch))
    assert len(per_invoice) == len(ids) and set(per_invoice.values()) == {2}
    logged_once(batch, ids)


@pytest.fixture
def broker_down(broker):
    """The broker's address points at a port nothing listens on, until `back()`."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    celery_app.conf.broker_url = f"redis://127.0.0.1:{closed_port}/0"
    reset_connections()

    def back() -> None:
        celery_app.conf.broker_url = REDIS_URL
        reset_connections()

    return back


def test_a_batch_created_while_the_broker_is_down_stays_queued_and_goes_out_once_it_is_back(
    broker_down, workers, book, finance
):
    ids = closed_invoices(book["client"], 20)
    api = APIClient()
    api.force_authenticate(finance)
    response = api.post("/api/v1/accounting/batches/", {"all_unposted": True}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["transfer"]["state"] == "queued"
    batch = GLBatch.objects.get(pk=response.json()["id"])
    assert batch.transfer_state == TransferState.QUEUED and batch.transfer_queued_at is None

    page = APIClient()
    page.force_login(finance)
    shown = page.get(reverse("accounting:batch_detail", args=[batch.pk])).content.decode()
    assert "The transfer starts by itself when the queue is back." in shown

    broker_down()  # back
    workers()
    assert tasks.transfer_sweep()["handed_over"] == 1
    wait_for(
        lambda: state(batch) == TransferState.DONE,
        timeout=60,
        what="the worker to send the batch the sweep handed over",
    )
    logged_once(batch, ids)


@pytest.fixture
def gnucash_book(tmp_path, settings, book):
    from accounting.connectors.gnucash import create_book
    from accounting.models import GLAccount

    root = tmp_path / "ledgers"
    root.mkdir()
    settings.LEDGER_ROOT = root
    accounts = list(GLAccount.objects.values_list("number", "name", "type"))
    create_book("books.gnucash", accounts, root=root)
    AccountingSetup.objects.filter(pk=1).update(
        package="gnucash", direct_transfer=True, options={"ledger_path": "books.gnucash"}
    )
    return root / "books.gnucash"


def test_a_gnucash_transfer_killed_mid_chunk_is_taken_up_and_writes_each_record_once(
    workers, book, finance, gnucash_book
):
    """The worker is killed while it writes the second chunk into the book, inside the
    book's open database transaction (SQLite's rollback journal is there): the book
    keeps the first chunk whole, the retry writes the rest, and GnuCash itself reads
    each record once."""
    import piecash
    from sqlalchemy import text

    from tests.connectors.test_gnucash import read_with_gnucash

    ids = closed_invoices(book["client"], 5000)  # three chunks of up to 2,000
    env = {**NO_REDELIVERY, "LEDGER_ROOT": str(gnucash_book.parent)}
    first = workers(**env)
    batch = accounting.batch_create(actor=finance, all_unposted=True)
    assert batch.transfer_method == "direct"
    wait_for(
        lambda: TransferLog.objects.filter(batch=batch).exists(),
        timeout=180,
        what="the first chunk to reach the book",
        interval=0.05,
    )
    journal = gnucash_book.with_name(gnucash_book.name + "-journal")
    wait_for(journal.exists, timeout=120, what="the second chunk's write to begin", interval=0.005)
    first.kill()
    assert journal.exists()  # the write was cut off before its commit
    assert 0 < TransferLog.objects.filter(batch=batch).count() < len(ids)

    workers(**env)
    workers(beat=True, **env)
    wait_for(
        lambda: state(batch) == TransferState.DONE,
        timeout=400,
        what="the sweep to queue the transfer again and a worker to finish it",
        interval=0.5,
    )
    with piecash.open_book(str(gnucash_book), readonly=True, open_if_lock=True) as opened:
        records = opened.session.execute(
            text("SELECT string_val FROM slots WHERE name = 'psa-record'")
        ).scalars()
        per_record = Counter(records)
    assert set(per_record) == {f"invoice:{pk}" for pk in ids}
    assert set(per_record.values()) == {1}
    read = read_with_gnucash(gnucash_book)
    assert read["transactions"] == len(ids)
    assert read["balances"]["1200"] == Decimal("100.00") * len(ids)
    assert sum(read["balances"].values()) == 0
    logged_once(batch, ids)
