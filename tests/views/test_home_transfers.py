"""The home page counts every open batch whose transfer needs Finance: failed or
interrupted (stopped: its process died, its lease expired)."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from accounting.models import GLBatch, TransferState


def home_tile(client) -> str:
    html = client.get("/").content.decode()
    start = html.index('class="tile tile-batches"')
    return html[start : html.index("</a>", start)]


def test_the_open_batches_tile_counts_failed_and_interrupted_transfers(
    finance_client, make_invoice, send
):
    batches = [send([{"type": "invoice", "id": make_invoice().pk}]) for _ in range(4)]
    failed, interrupted, lease_expired, _done = batches
    GLBatch.objects.filter(pk=failed.pk).update(transfer_state=TransferState.FAILED)
    GLBatch.objects.filter(pk=interrupted.pk).update(transfer_state=TransferState.INTERRUPTED)
    GLBatch.objects.filter(pk=lease_expired.pk).update(
        transfer_state=TransferState.RUNNING,
        transfer_lease_until=timezone.now() - timedelta(minutes=1),
    )

    tile = home_tile(finance_client)

    assert "3 transfers failed or interrupted" in tile
    assert f'href="{reverse("accounting:batch_list")}"' in tile


def test_one_interrupted_transfer_alone_is_shown(finance_client, make_invoice, send):
    batch = send([{"type": "invoice", "id": make_invoice().pk}])
    GLBatch.objects.filter(pk=batch.pk).update(transfer_state=TransferState.INTERRUPTED)

    assert "1 transfer failed or interrupted" in home_tile(finance_client)


def test_no_transfer_to_see_to_shows_the_plain_link(finance_client, make_invoice, send):
    send([{"type": "invoice", "id": make_invoice().pk}])

    tile = home_tile(finance_client)

    assert "failed" not in tile and "Open Batches" in tile
