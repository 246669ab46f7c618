import pytest
from django.core.management import call_command

from accounting.models import BatchStatus, GLBatch, TransferState
from expenses.models import ExpenseEntry, ExpenseSheet
from invoicing.models import Invoice
from procurement.models import PurchaseOrder


@pytest.mark.django_db
def test_demo_loads_a_month_end_book_in_every_state(
    django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo")
    assert set(Invoice.objects.values_list("status__name", flat=True)) == {"New", "Sent", "Closed"}
    assert set(ExpenseSheet.objects.values_list("status", flat=True)) == {
        "open",
        "submitted",
        "approved",
    }
    assert set(PurchaseOrder.objects.values_list("status", flat=True)) == {"open", "closed"}
    assert set(GLBatch.objects.values_list("status", flat=True)) == {
        BatchStatus.OPEN,
        BatchStatus.CLOSED,
        BatchStatus.DELETED,
    }
    live = GLBatch.objects.exclude(status=BatchStatus.DELETED)
    assert not live.exclude(transfer_state=TransferState.DONE).exists()
    assert Invoice.objects.filter(is_closed=True, gl_batch__isnull=True).exists()
    assert ExpenseEntry.objects.filter(gl_batch__status=BatchStatus.OPEN).exists()

    call_command("demo", if_empty=True)  # bin/run on an existing book adds nothing
    assert GLBatch.objects.count() == 3
