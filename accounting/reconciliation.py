"""The books check: what the accounting package holds of the records sent through its
connector, compared with the transfer log and with the records as they are now.

Each record falls in exactly one class (`DifferenceClass`):

- in step: in the package once, lines as last sent, and the record unchanged since;
- missing: logged as sent, not in the package;
- duplicated: in the package more than once (an original was not removed), or still
  there although the log says it was removed;
- changed in the package: there once, but its accounts, amounts, date or batch differ
  from what was sent;
- changed in the PSA: the record was edited after it was sent (say, rebatched after an
  edit), and the package still holds what was sent;
- unknown: carries this product's tag, but no transfer-log row says it was sent.

A run reads the package through the connector's `find_sent` (which lets go of the
package before answering), then walks it beside the transfer log, both in the order of
(record type, record id), a chunk of records at a time: the log is streamed from the
database, and each chunk's records are built as a transfer builds them. It only reads
the PSA's tables and takes no lock; it writes its own run and differences only. Runs
are started by `accounting.services.reconciliation_start` and the nightly beat, and run
by the task `accounting.tasks.reconciliation_run`.
"""

import heapq
import itertools
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import F, Q
from django.db.models.functions import Collate
from django.utils import timezone

from accounting import books_upload, selectors
from accounting.connectors import SentRecord, get_connector, reads_back
from accounting.gl import AccountBook, Posting, fewer_collections
from accounting.models import (
    DifferenceClass,
    Reconciliation,
    ReconciliationDifference,
    ReconciliationSource,
    ReconciliationState,
    TransferMethod,
)
from accounting.postables import get_kind, kind_types
from core.errors import ApplicationError

logger = logging.getLogger(__name__)
CHUNK = 2000


@dataclass
class LoggedSend:
    """A transfer-log row of a direct send, as the check reads it."""

    batch_id: int
    batch_identifier: str
    reference: str
    fingerprint: str
    gl_lines: list
    sent_at: Any
    live: bool

    def lines(self) -> list[tuple[str, Decimal]]:
        """(GL account number, debit minus credit) of each line sent, in account order.
        Rows of an earlier release hold one object per line."""
        lines = []
        for line in self.gl_lines:
            if isinstance(line, dict):
                number, debit, credit = line["account_number"], line["debit"], line["credit"]
            else:
                number, debit, credit = line[0], line[3], line[4]
            lines.append((str(number), Decimal(debit) - Decimal(credit)))
        return sorted(lines)


@dataclass
class RecordCheck:
    """One record's sends and the package's transactions of it."""

    record_type: str
    record_id: int
    sends: list[LoggedSend] = field(default_factory=list)
    copies: list[SentRecord] = field(default_factory=list)

    @property
    def expected(self) -> LoggedSend | None:
        """The send the package should hold: the latest one not removed."""
        live = [send for send in self.sends if send.live]
        return live[-1] if live else None


def classify(check: RecordCheck, posting: Posting | None) -> str:
    """The one class the record falls in; `posting` is the record as it is now (None
    when it no longer exists)."""
    expected = check.expected
    if expected is None:
        # Logged once but removed since: what is left is a copy that should be gone.
        return DifferenceClass.DUPLICATED if check.sends else DifferenceClass.UNKNOWN
    if not check.copies:
        return DifferenceClass.MISSING
    if len(check.copies) > 1:
        return DifferenceClass.DUPLICATED
    [copy] = check.copies
    psa_changed = posting is None or not posting.matches(expected.fingerprint)
    # A batch the package does not carry (a general ledger report) is not compared.
    package_changed = (
        bool(copy.batch_identifier) and copy.batch_identifier != expected.batch_identifier
    ) or (copy.lines is not None and by_account(copy.lines) != by_account(expected.lines()))
    # The date sent is the record's own while it has not changed.
    if not psa_changed and copy.date is not None and copy.date != posting.header.date:
        package_changed = True
    if package_changed:
        return DifferenceClass.CHANGED_IN_PACKAGE
    if psa_changed:
        return DifferenceClass.CHANGED_IN_PSA
    return DifferenceClass.IN_STEP


def by_account(lines: Iterable[tuple[str, Decimal]]) -> list[tuple[str, Decimal]]:
    """The books' view of lines: the sum on each account, accounts left at zero out.
    A package may join a document's lines on one account (Xero's journals do), or drop
    a line without an amount; neither changes the books."""
    sums: dict[str, Decimal] = {}
    for number, amount in lines:
        sums[number] = sums.get(number, Decimal("0")) + amount
    return sorted((number, amount) for number, amount in sums.items() if amount)


def _lines_json(lines: Iterable[tuple[str, Decimal]]) -> list[list[str]]:
    return [[number, f"{amount:.2f}"] for number, amount in lines]


def _posting_lines(posting: Posting) -> list[tuple[str, Decimal]]:
    return sorted((line.account_number, line.debit - line.credit) for line in posting.lines)


def difference_values(check: RecordCheck, posting: Posting | None) -> tuple[dict, list]:
    """Both sides of a difference, as kept: the PSA's (what was sent, and the record
    now) and the package's (each transaction it holds)."""
    expected = check.expected
    psa: dict[str, Any] = {"sent": None, "current": None}
    if expected is not None:
        psa["sent"] = {
            "batch": expected.batch_identifier,
            "sent_at": expected.sent_at.isoformat(),
            "lines": _lines_json(expected.lines()),
        }
    if posting is not None:
        psa["current"] = {
            "date": posting.header.date.isoformat(),
            "lines": _lines_json(_posting_lines(posting)),
            "changed": expected is not None and not posting.matches(expected.fingerprint),
        }
    package = [
        {
            "reference": copy.external_reference,
            "batch": copy.batch_identifier,
            "date": copy.date.isoformat() if copy.date else None,
            "lines": _lines_json(copy.lines) if copy.lines is not None else None,
        }
        for copy in check.copies
    ]
    return psa, package


def _logged_sends(
    package: str, method: str = TransferMethod.DIRECT
) -> Iterator[tuple[tuple[str, int], LoggedSend]]:
    """The sends to the package (direct ones, or export files for a run of an uploaded
    export), streamed in the order of (type, id), oldest first within a record; the
    type compared byte by byte, as Python sorts it."""
    rows = (
        selectors.sent_logs()
        .filter(method=method, package=package)
        .order_by(Collate("record_type", "C"), "record_id", "sent_at", "id")
        .values_list(
            "record_type",
            "record_id",
            "batch_id",
            F("batch__batch_identifier"),
            "reference",
            "fingerprint",
            "gl_lines",
            "sent_at",
            Q(removed_at__isnull=True),
        )
    )
    for (
        record_type,
        record_id,
        batch_id,
        identifier,
        reference,
        fp,
        lines,
        at,
        live,
    ) in rows.iterator(chunk_size=CHUNK):
        yield (
            (record_type, record_id),
            LoggedSend(batch_id, identifier, reference, fp, lines, at, live),
        )


def record_checks(
    sends: Iterable[tuple[tuple[str, int], LoggedSend]], copies: Iterable[SentRecord]
) -> Iterator[RecordCheck]:
    """Both sorted streams merged, one check per record that either side names."""
    merged = heapq.merge(
        ((key, 0, send) for key, send in sends),
        (((copy.record_type, copy.record_id), 1, copy) for copy in copies),
        key=lambda item: item[0],
    )
    for key, group in itertools.groupby(merged, key=lambda item: item[0]):
        check = RecordCheck(*key)
        for _key, side, value in group:
            (check.sends if side == 0 else check.copies).append(value)
        yield check


def _current_postings(checks: list[RecordCheck], book: AccountBook) -> dict[tuple, Posting]:
    """The chunk's records as they are now, built as a transfer builds them."""
    wanted: dict[str, list[int]] = {}
    known = set(kind_types())
    for check in checks:
        if check.record_type in known:
            wanted.setdefault(check.record_type, []).append(check.record_id)
    postings = {}
    for record_type, ids in wanted.items():
        kind = get_kind(record_type)
        for posting in kind.bulk_postings(kind.model.objects.filter(pk__in=ids), book):
            postings[(record_type, posting.header.id)] = posting
    return postings


@dataclass(frozen=True)
class Scope:
    batch_id: int | None = None
    batch_identifier: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def takes(self, check: RecordCheck, posting: Posting | None) -> bool:
        """Whether the run's scope covers the record: sent in its batch (or carried
        under its identifier by the package), or dated in its range (in the package,
        or the record as it is now)."""
        if self.batch_id is not None:
            return any(send.live and send.batch_id == self.batch_id for send in check.sends) or any(
                copy.batch_identifier == self.batch_identifier for copy in check.copies
            )
        if self.date_from is None and self.date_to is None:
            return True
        dates = [copy.date for copy in check.copies if copy.date is not None]
        if posting is not None:
            dates.append(posting.header.date)
        return any(
            (self.date_from is None or day >= self.date_from)
            and (self.date_to is None or day <= self.date_to)
            for day in dates
        )


def compare(
    run: Reconciliation, copies: Iterable[SentRecord], progress: Callable[[int], None]
) -> dict[str, int]:
    """Walk the package's transactions beside the log, store the differences of the
    records in the run's scope a chunk at a time, and answer the counts."""
    scope = Scope(
        batch_id=run.batch_id,
        batch_identifier=run.batch.batch_identifier if run.batch_id else "",
        date_from=run.date_from,
        date_to=run.date_to,
    )
    counts = {value: 0 for value in DifferenceClass.values}
    method = (
        TransferMethod.FILE if run.source == ReconciliationSource.UPLOAD else TransferMethod.DIRECT
    )
    total = max(
        selectors.sent_logs()
        .filter(method=method, package=run.package, removed_at__isnull=True)
        .count(),
        1,
    )
    book = AccountBook()
    checks = record_checks(_logged_sends(run.package, method), copies)
    done = 0
    with fewer_collections():
        while chunk := list(itertools.islice(checks, CHUNK)):
            postings = _current_postings(chunk, book)
            differences = []
            for check in chunk:
                key = (check.record_type, check.record_id)
                posting = postings.get(key)
                if not scope.takes(check, posting):
                    continue
                kind = classify(check, posting)
                counts[kind] += 1
                if kind == DifferenceClass.IN_STEP:
                    continue
                psa, package = difference_values(check, posting)
                expected = check.expected or (check.sends[-1] if check.sends else None)
                differences.append(
                    ReconciliationDifference(
                        reconciliation=run,
                        kind=kind,
                        record_type=check.record_type,
                        record_id=check.record_id,
                        reference=(
                            posting.header.reference
                            if posting is not None
                            else expected.reference
                            if expected is not None
                            else f"{check.record_type} {check.record_id}"
                        )[:200],
                        batch_identifier=expected.batch_identifier if expected else "",
                        psa=psa,
                        package=package,
                    )
                )
            ReconciliationDifference.objects.bulk_create(differences)
            done += sum(1 for check in chunk if check.expected is not None)
            progress(min(99, done * 100 // total))
    return counts


def reconciliation_run(*, reconciliation_id: int) -> Reconciliation:
    """Run a queued books check and record its outcome; a failure is kept on the run
    in the product's words (the details in the server log), not raised. A run already
    taken by another worker is left alone."""
    taken = Reconciliation.objects.filter(
        pk=reconciliation_id, state=ReconciliationState.QUEUED
    ).update(state=ReconciliationState.RUNNING, started_at=timezone.now(), progress=0)
    run = Reconciliation.objects.select_related("batch").get(pk=reconciliation_id)
    if not taken:
        return run

    def progress(percent: int) -> None:
        Reconciliation.objects.filter(pk=run.pk).update(progress=percent)

    try:
        if run.source == ReconciliationSource.UPLOAD:
            books_upload.resolve(run)
            counts = compare(run, books_upload.staged_copies(run), progress)
        else:
            connector = get_connector(run.package, selectors.accounting_setup().options)
            if connector is None:
                raise _no_connector(run.package)
            counts = compare(run, connector.find_sent(), progress)
    except Exception as error:
        reference = uuid.uuid4().hex[:8]
        logger.error(
            "Books check %s failed (reference %s)",
            run.pk,
            reference,
            exc_info=(type(error), error, error.__traceback__),
        )
        Reconciliation.objects.filter(pk=run.pk).update(
            state=ReconciliationState.FAILED,
            error=_error_text(error, reference),
            finished_at=timezone.now(),
        )
    else:
        if run.source == ReconciliationSource.UPLOAD:
            books_upload.discard(run)
        Reconciliation.objects.filter(pk=run.pk).update(
            state=ReconciliationState.DONE,
            counts=counts,
            progress=100,
            finished_at=timezone.now(),
        )
    run.refresh_from_db()
    return run


def _error_text(error: Exception, reference: str) -> str:
    """What a user reads of a failed run: an ApplicationError's own words; anything
    else stays in the server log, under the reference given."""
    if isinstance(error, ApplicationError):
        return error.message[:2000]
    return (
        f"The books check stopped on an unexpected error (reference {reference}); the "
        "details are in the server log. Run it again, or ask your administrator."
    )


def _no_connector(package: str) -> ApplicationError:
    return ApplicationError(
        f"{package} takes export files only: no connector can read what it holds. Set up "
        "a package with direct transfer to check the books.",
        code="no_connector",
    )


def nightly_reconciliation() -> Reconciliation | None:
    """The run the beat starts each night: everything, for the setup's package, when
    it transfers through a connector and no run is under way."""
    setup = selectors.accounting_setup()
    if not reads_back(setup.package):
        return None
    if Reconciliation.objects.filter(
        state__in=[ReconciliationState.QUEUED, ReconciliationState.RUNNING]
    ).exists():
        return None
    return Reconciliation.objects.create(package=setup.package)
