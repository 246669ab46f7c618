"""A batch's transfer, and every change of its state:

- `run`: running it under the batch's lock and lease, recording it done or failed;
- `body`: its work: the postings streamed into an export file or through a connector,
  and one transfer-log row per record sent;
- `lease`: the batch's advisory lock and the lease a running transfer holds;
- `sweep`: queueing it again (a person's retry, the sweep the beat runs).
- `fanout`: a big file transfer cut into parts that the workers write side by side,
  then joined into the one file.

It imports neither the workflows (`accounting.services`) nor the tasks: the tasks run
it, and hand it to the queue (`accounting.tasks.queue_transfer`).
"""

from accounting.transfer import fanout
from accounting.transfer.body import batch_postings, log_sent, run_transfer
from accounting.transfer.lease import Lease, LeaseLost, transfer_lock
from accounting.transfer.run import UNEXPECTED_ERROR, batch_transfer_run, transfer_error_text
from accounting.transfer.sweep import not_handed_over, requeue, transfer_sweep

__all__ = [
    "UNEXPECTED_ERROR",
    "Lease",
    "LeaseLost",
    "batch_postings",
    "batch_transfer_run",
    "fanout",
    "log_sent",
    "not_handed_over",
    "requeue",
    "run_transfer",
    "transfer_error_text",
    "transfer_lock",
    "transfer_sweep",
]
