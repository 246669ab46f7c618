"""The books check on a real Celery worker with a real Redis broker: started by Finance,
and the nightly run the beat sends."""

import pytest

from accounting import services as accounting
from accounting.models import AccountingSetup, Reconciliation
from config.celery import app as celery_app
from tests.helpers import wait_for
from tests.tasks.test_worker_transfers import closed_invoices

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def ledger(tmp_path, settings):
    root = tmp_path / "ledgers"
    root.mkdir()
    settings.LEDGER_ROOT = root
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": "books.beancount"}
    )
    return root / "books.beancount"


def test_a_books_check_runs_on_a_worker_and_the_nightly_one_too(workers, book, finance, ledger):
    ids = closed_invoices(book["client"], 300)
    workers(LEDGER_ROOT=str(ledger.parent))
    batch = accounting.batch_create(actor=finance, all_unposted=True)
    wait_for(
        lambda: batch.__class__.objects.get(pk=batch.pk).transfer_state == "done",
        timeout=60,
        what="the transfer",
    )
    # The last invoice's transaction is deleted by hand in the ledger.
    text = ledger.read_text()
    start = text.index(f'psa_record: "invoice:{ids[-1]}"')
    start = text.rindex("\n\n", 0, start) + 1
    ledger.write_text(text[:start] + text[text.index("\n\n", start) + 1 :])

    run = accounting.reconciliation_start(actor=finance)
    done = wait_for(
        lambda: Reconciliation.objects.filter(pk=run.pk, state="done").first(),
        timeout=60,
        what="the books check",
    )
    assert done.progress == 100
    assert done.counts["in_step"] == 299 and done.counts["missing"] == 1
    assert list(done.differences.values_list("record_id", "kind")) == [(ids[-1], "missing")]

    # What the beat sends each night: a check of everything, by nobody.
    celery_app.send_task("accounting.books_check_nightly")
    nightly = wait_for(
        lambda: Reconciliation.objects.filter(created_by=None, state="done").first(),
        timeout=60,
        what="the nightly books check",
    )
    assert nightly.counts == done.counts
