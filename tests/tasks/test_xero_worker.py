"""A Xero transfer on a real Celery worker, killed (SIGKILL) while Xero holds its answer
to a create, then taken up again by the sweep: no document is created twice in Xero."""

from collections import Counter

import pytest
from cryptography.fernet import Fernet

from accounting import services as accounting
from accounting.models import (
    AccountingSetup,
    GLBatch,
    TransferLog,
    TransferState,
    XeroConnection,
    XeroDocument,
)
from tests.connectors.xero_fake import FakeXero
from tests.helpers import wait_for
from tests.tasks.test_transfer_recovery import NO_REDELIVERY, logged_once
from tests.tasks.test_worker_transfers import closed_invoices

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def xero(settings):
    """The local Xero, a custom connection to it stored encrypted, and the setup sending
    to it; `env` points a worker process at it with the same key."""
    from accounting.secrets import encrypt

    fake = FakeXero().start()
    key = Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEY = key
    XeroConnection.objects.create(
        pk=1,
        auth=XeroConnection.CUSTOM,
        client_id=fake.client_id,
        client_secret=encrypt(fake.client_secret),
    )
    AccountingSetup.objects.filter(pk=1).update(package="xero", direct_transfer=True, options={})
    fake.env = {**fake.settings_env(), "SECRETS_ENCRYPTION_KEY": key}
    yield fake
    fake.stop()
    assert fake.violations == [], "\n".join(fake.violations)


def test_a_xero_transfer_killed_while_xero_answers_a_create_creates_nothing_twice(
    workers, book, finance, xero
):
    ids = closed_invoices(book["client"], 150)  # three create requests of 50
    xero.hold_after_create = 2  # Xero creates the second fifty, its answer is held
    env = {**NO_REDELIVERY, **xero.env}
    first = workers(**env)
    batch = accounting.batch_create(actor=finance, all_unposted=True)
    assert batch.transfer_method == "direct"
    wait_for(xero.held.is_set, timeout=120, what="Xero to hold its answer to the second create")
    first.kill()
    xero.release.set()
    # Xero holds a hundred documents; the PSA knows of the first fifty only.
    assert len(xero.invoices) == 100
    assert XeroDocument.objects.exclude(invoice_id="").count() == 50
    assert not TransferLog.objects.filter(batch=batch).exists()

    workers(**env)
    workers(beat=True, **env)
    wait_for(
        lambda: GLBatch.objects.get(pk=batch.pk).transfer_state == TransferState.DONE,
        timeout=240,
        what="the sweep to queue the transfer again and a worker to finish it",
        interval=0.5,
    )
    # The retry sent the second fifty with the same Idempotency-Key and Xero answered
    # its first result: three creates carried out, each invoice once.
    assert xero.create_requests == 3
    per_number = Counter(invoice["InvoiceNumber"] for invoice in xero.invoices.values())
    assert len(per_number) == len(ids) and set(per_number.values()) == {1}
    logged_once(batch, ids)
    logged = set(
        TransferLog.objects.filter(batch=batch).values_list("external_reference", flat=True)
    )
    assert logged == set(xero.invoices)
