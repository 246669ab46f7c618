"""Records changed since they were sent: the one place that compares a record as it is
now with what the accounting package holds of it (the transfer log's GL lines and
fingerprint of its latest send still there), and answers both sides.

A record in a batch is locked, so the only way it changes in a batch that sent it is
unbatch, edit, rebatch: nothing is sent, and the package keeps the old values. Such a
record is marked "changed since sent" on its page, on its batch's page and in the
Accounting Interface, until the package holds the new values: updated there by hand
(file transfers, `services.sent_change_confirm`) or replaced through the connector
(direct transfers, `services.sent_change_send`).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from accounting.gl import ZERO, AccountBook, GLLine, Posting, fewer_collections
from accounting.models import AuditEvent, GLAccountType, GLBatch, TransferMethod
from accounting.postables import PostableKind, get_kind, kinds
from accounting.selectors.sends import sent_logs


@dataclass(frozen=True)
class PostedValues:
    """What a posting carries, as a clerk compares it: the document total (its
    debits), the tax, and each account's amount (debit positive, credit negative)."""

    total: Decimal
    tax: Decimal
    accounts: dict[str, tuple[str, Decimal]]  # number -> (name, debit minus credit)

    @classmethod
    def of(cls, lines: tuple[GLLine, ...]) -> "PostedValues":
        accounts: dict[str, tuple[str, Decimal]] = {}
        total = tax = ZERO
        for line in lines:
            total += line.debit
            net = line.debit - line.credit
            if line.account_type == GLAccountType.SALES_TAX:
                tax += abs(net)
            name, amount = accounts.get(line.account_number, (line.account_name, ZERO))
            accounts[line.account_number] = (line.account_name or name, amount + net)
        return cls(total=total, tax=tax, accounts=accounts)


@dataclass
class SentChange:
    """A record whose posting now differs from what its latest send still in the
    package carried: where it was sent, and both sides."""

    type: str
    id: int
    reference: str
    number: str
    batch_id: int
    batch_identifier: str
    method: str
    package: str  # the package's code
    package_label: str
    sent_at: datetime
    log_id: int
    # The record is in the batch that sent it (rebatched after an edit): the batch
    # shows the new values while the package holds the old ones.
    in_batch: bool
    # Its header (date, due date, tax code, company, number) differs from what was
    # sent; the log keeps the header's fingerprint only, not its values.
    header_changed: bool
    date: Any
    sent: PostedValues
    now: PostedValues
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_direct(self) -> bool:
        return self.method == TransferMethod.DIRECT

    @property
    def label(self) -> str:
        return get_kind(self.type).label

    def as_json(self) -> dict[str, Any]:
        """Both sides for the API and the audit trail: amounts as text."""

        def side(values: PostedValues) -> dict[str, Any]:
            return {
                "total": f"{values.total:.2f}",
                "tax": f"{values.tax:.2f}",
                "accounts": [
                    {"account": number, "name": name, "amount": f"{amount:.2f}"}
                    for number, (name, amount) in sorted(values.accounts.items())
                ],
            }

        return {
            "batch": self.batch_identifier,
            "batch_id": self.batch_id,
            "method": self.method,
            "sent_at": self.sent_at.isoformat(),
            "in_batch": self.in_batch,
            "header_changed": self.header_changed,
            "sent": side(self.sent),
            "now": side(self.now),
        }


def _logged_lines(gl_lines: list) -> tuple[GLLine, ...]:
    """The GL lines a transfer-log row keeps, back as GLLines (rows of an earlier
    release hold one object per line)."""
    lines = []
    for line in gl_lines:
        if isinstance(line, dict):
            line = [line[name] for name in GLLine._fields]
        number, name, account_type, debit, credit, memo = line
        lines.append(
            GLLine(str(number), name, account_type, Decimal(debit), Decimal(credit), memo or "")
        )
    return tuple(lines)


def amount_text(value: Decimal | None, account: bool = False) -> str:
    """An amount as a clerk reads it in the package: an account's as debit or credit."""
    if value is None:
        return "—"
    if not account:
        return f"{value:,.2f}"
    return f"Debit {value:,.2f}" if value >= 0 else f"Credit {-value:,.2f}"


def _rows(sent: PostedValues, now: PostedValues) -> list[dict[str, Any]]:
    """The values side by side: total, tax, then each account either side names."""
    values: list[tuple[str, Decimal | None, Decimal | None, bool]] = [
        ("Total", sent.total, now.total, False),
        ("Tax", sent.tax, now.tax, False),
    ]
    for number in sorted(set(sent.accounts) | set(now.accounts)):
        name = (now.accounts.get(number) or sent.accounts[number])[0]
        values.append(
            (
                f"{number} {name}",
                sent.accounts[number][1] if number in sent.accounts else None,
                now.accounts[number][1] if number in now.accounts else None,
                True,
            )
        )
    return [
        {
            "label": label,
            "sent": before,
            "now": after,
            "account": account,
            "changed": before != after,
            "sent_text": amount_text(before, account),
            "now_text": amount_text(after, account),
        }
        for label, before, after, account in values
    ]


# Up to this many records are compared from rows read at once, not streamed.
READ_AT_ONCE = 1_000


def sent_changes(
    kind: PostableKind, record_ids: list[int], batch_ids: dict[int, int | None] | None = None
) -> dict[int, SentChange]:
    """Of these records of one kind, those that differ from their latest send still in
    the accounting package, by id. Records never sent, or unchanged, are left out.
    `batch_ids`: each record's batch, when the caller has read it already."""
    if not record_ids:
        return {}
    latest: dict[int, Any] = {}
    for log in (
        sent_logs()
        .filter(record_type=kind.type, record_id__in=record_ids, removed_at__isnull=True)
        .select_related("batch")
        .order_by("sent_at", "id")
    ):
        latest[log.record_id] = log  # the latest send wins
    if not latest:
        return {}
    rows = kind.model._default_manager.filter(pk__in=list(latest))
    batches = (
        batch_ids
        if batch_ids is not None
        else dict(rows.values_list("pk", f"{kind.batch_field}_id"))
    )
    changes: dict[int, SentChange] = {}
    # A page's few records are read in one query each (rows, lines); more are streamed.
    chunk_size = None if len(latest) <= READ_AT_ONCE else 2000
    with fewer_collections():
        for posting in kind.bulk_postings(rows, AccountBook(), chunk_size):
            log = latest[posting.header.id]
            if posting.matches(log.fingerprint):
                continue
            sent_lines = _logged_lines(log.gl_lines)
            header_changed = not Posting(posting.header, sent_lines).matches(log.fingerprint)
            sent, now = PostedValues.of(sent_lines), PostedValues.of(posting.lines)
            changes[posting.header.id] = SentChange(
                type=kind.type,
                id=posting.header.id,
                reference=posting.header.reference,
                number=posting.header.number,
                batch_id=log.batch_id,
                batch_identifier=log.batch.batch_identifier,
                method=log.method,
                package=log.package,
                package_label=log.get_package_display(),
                sent_at=log.sent_at,
                log_id=log.pk,
                in_batch=batches.get(posting.header.id) == log.batch_id,
                header_changed=header_changed,
                date=posting.header.date,
                sent=sent,
                now=now,
                rows=_rows(sent, now),
            )
    return changes


def record_sent_change(
    record_type: str, record_id: int, record: Any | None = None
) -> SentChange | None:
    """One record's change since it was sent, or None; `record`, when the caller has
    it, saves reading its batch again."""
    kind = get_kind(record_type)
    batch_ids = (
        {record_id: getattr(record, f"{kind.batch_field}_id")} if record is not None else None
    )
    return sent_changes(kind, [record_id], batch_ids).get(record_id)


def batches_sent_changes(batch_ids: list[int]) -> dict[int, dict[tuple[str, int], SentChange]]:
    """For each batch, its records changed since it sent them. Only a record rebatched
    into a batch can have changed in it (a record in a batch is locked), so only those
    are compared: a batch of any size costs a look at its rebatch events."""
    found: dict[int, dict[tuple[str, int], SentChange]] = {pk: {} for pk in batch_ids}
    if not batch_ids:
        return found
    candidates: dict[str, set[int]] = defaultdict(set)
    for record_type, record_id in AuditEvent.objects.filter(
        batch_id__in=batch_ids, action="rebatched"
    ).values_list("record_type", "record_id"):
        if record_id is not None:
            candidates[record_type].add(record_id)
    for kind in kinds():
        if not candidates[kind.type]:
            continue
        for record_id, change in sent_changes(kind, sorted(candidates[kind.type])).items():
            if change.in_batch and change.batch_id in found:
                found[change.batch_id][(kind.type, record_id)] = change
    return found


def batch_sent_changes(batch: GLBatch) -> dict[tuple[str, int], SentChange]:
    """The records of one batch changed since it sent them."""
    return batches_sent_changes([batch.pk])[batch.pk]
