"""Plain helpers for tests and conftests (no fixtures here): the day records are dated,
users in a role, invoice statuses by name, batching records with their transfer,
waiting for a condition, and fingerprints as earlier releases logged them."""

import datetime as dt
import hashlib
import json
import socket
import time
from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from accounting import services as accounting
from accounting.gl import Posting
from accounting.models import GLBatch, TransferState
from core.errors import ApplicationError
from invoicing.models import InvoiceStatus

DAY = dt.date(2026, 11, 3)
PASSWORD = "pw"


def make_user(username: str, role: str | None = None, **fields: Any) -> User:
    """A user who signs in with PASSWORD, in the group of `role` (made by a migration)."""
    fields.setdefault("first_name", username.title())
    user = User.objects.create_user(username, password=PASSWORD, **fields)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # a fresh permission cache


def status(name: str) -> InvoiceStatus:
    """A status of the setup table by name: "New", "Sent" (open), "Closed" (closed)."""
    return InvoiceStatus.objects.get(name=name)


def send(capture, actor: User, items: list[dict], **options: Any) -> GLBatch:
    """Batch the records through the service and run the transfer as the commit would;
    `capture` is pytest-django's django_capture_on_commit_callbacks."""
    with capture(execute=True):
        batch = accounting.batch_create(actor=actor, items=items, **options)
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.DONE, batch.transfer_error
    return batch


def refused(code: str | None):
    """`with refused(code):` the block raises an ApplicationError with that code (any
    ApplicationError where code is None)."""
    return pytest.raises(ApplicationError, match=r".") if code is None else _Refused(code)


class _Refused:
    def __init__(self, code):
        self.code = code

    def __enter__(self):
        self.ctx = pytest.raises(ApplicationError)
        self.info = self.ctx.__enter__()
        return self.info

    def __exit__(self, *exc):
        result = self.ctx.__exit__(*exc)
        assert self.info.value.code == self.code, self.info.value.message
        return result


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.2):
    """Poll `condition` until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def fingerprint_over_line_objects(posting: Posting) -> str:
    """The fingerprint as the transfer log kept it while it logged lines as objects."""
    header = json.dumps(
        [
            *posting.header[:4],
            posting.header.date.isoformat(),
            *posting.header[5:7],
            posting.header.due_date and posting.header.due_date.isoformat(),
            posting.header.tax_code,
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    lines = [
        {
            "account_number": line.account_number,
            "account_name": line.account_name,
            "account_type": line.account_type,
            "debit": f"{line.debit:.2f}",
            "credit": f"{line.credit:.2f}",
            "memo": line.memo,
        }
        for line in posting.lines
    ]
    text = header + "\n" + json.dumps(lines, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
