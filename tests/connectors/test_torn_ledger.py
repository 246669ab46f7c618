"""A worker killed while the beancount connector appends a chunk leaves part of that
chunk at the end of the ledger. The next send (or removal) cuts it off and sends its
records again; a reader leaves it out. Nothing outside the connector's own blocks is
touched."""

import logging
from collections import Counter
from pathlib import Path

import pytest
from beancount import loader
from beancount.core.data import Transaction

from accounting.connectors import SentRecord, get_connector
from tests.exporters import samples

HAND_WRITTEN = (
    "\n2000-01-01 open Expenses:Bank:Fees USD\n"
    "2000-01-01 open Assets:Bank:Checking USD\n"
    '2026-11-01 * "Bank" "Fee, entered by hand"\n'
    "  Expenses:Bank:Fees   5.00 USD\n"
    "  Assets:Bank:Checking  -5.00 USD\n"
)


@pytest.fixture
def ledger(ledger_root) -> Path:
    (ledger_root / "books").mkdir()
    return ledger_root / "books" / "psa.beancount"


def connector():
    """A connector as a new worker process makes it: it knows nothing of the ledger."""
    return get_connector("beancount", {"ledger_path": "books/psa.beancount"})


def records(path: Path) -> Counter:
    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    return Counter(
        (entry.meta.get("psa_record"), entry.meta.get("psa_batch"))
        for entry in entries
        if isinstance(entry, Transaction)
    )


def killed_while_appending(ledger: Path, postings, batch: str, keep) -> bytes:
    """The ledger as a worker killed in the middle of appending `postings` leaves it:
    the bytes a whole send appends are taken, and only the first `keep` of them left."""
    before = ledger.read_bytes() if ledger.exists() else b""
    connector().send(postings, batch_identifier=batch)
    appended = ledger.read_bytes()[len(before) :]
    cut = keep(len(appended))
    ledger.write_bytes(before + appended[:cut])
    return appended[:cut]


CUTS = {
    "in the begin line": lambda size: 20,
    "after the begin line": lambda size: 60,
    "in the middle of a transaction": lambda size: size // 2,
    "in the end line": lambda size: size - 8,
}


@pytest.mark.parametrize("keep", CUTS.values(), ids=CUTS.keys())
def test_a_send_after_a_killed_write_cuts_it_off_and_sends_its_records_once(ledger, keep, caplog):
    first, second = samples.ALL_KINDS[:2], samples.ALL_KINDS[2:]
    connector().send(first, batch_identifier="GL-1")
    with ledger.open("a") as out:
        out.write(HAND_WRITTEN)
    killed_while_appending(ledger, second, "GL-1", keep)

    with caplog.at_level(logging.WARNING, logger="accounting.connectors.beancount"):
        answered = connector().send(second, batch_identifier="GL-1")  # the retry

    assert records(ledger) == Counter(
        {(f"{p.header.type}:{p.header.id}", "GL-1"): 1 for p in samples.ALL_KINDS}
        | {(None, None): 1}  # the hand-written entry, kept
    )
    assert HAND_WRITTEN in ledger.read_text()
    assert set(answered) == {(p.header.type, p.header.id) for p in second}
    assert "cut off" in caplog.text


def test_a_ledger_whose_first_write_was_killed_is_started_again(ledger):
    killed_while_appending(ledger, samples.ALL_KINDS, "GL-1", lambda size: size // 3)

    connector().send(samples.ALL_KINDS, batch_identifier="GL-1")

    assert sum(records(ledger).values()) == len(samples.ALL_KINDS)
    _, _, options = loader.load_file(str(ledger))
    assert options["operating_currency"] == ["USD"]


def test_find_leaves_a_killed_write_out_and_changes_nothing(ledger):
    connector().send([samples.INVOICE], batch_identifier="GL-1")
    torn = killed_while_appending(ledger, [samples.EXPENSE], "GL-1", lambda size: size // 2)
    before = ledger.read_bytes()

    assert connector().find(record_type="invoice", record_id=42) == [
        SentRecord("invoice", 42, "^psa-invoice-42@GL-1")
    ]
    assert connector().find(record_type="expense", record_id=7) == []
    assert ledger.read_bytes() == before and before.endswith(torn)


def test_remove_cuts_off_a_killed_write_and_keeps_the_rest(ledger):
    connector().send(samples.ALL_KINDS[:2], batch_identifier="GL-1")
    killed_while_appending(ledger, samples.ALL_KINDS[2:], "GL-1", lambda size: size // 2)

    assert connector().remove(record_type="invoice", record_id=42) == 1

    assert records(ledger) == Counter({("expense:7", "GL-1"): 1})


def test_a_block_edited_by_hand_after_its_begin_line_is_not_cut_off(ledger):
    """A block without its end that is followed by as much text as it was to hold was
    not cut off by a crash: the connector leaves it, and the ledger's own error names
    the line to fix if it does not parse."""
    connector().send([samples.INVOICE], batch_identifier="GL-1")
    text = ledger.read_text()
    edited = text.replace("; psa-end", "; the end, says the bookkeeper")
    ledger.write_text(edited + HAND_WRITTEN)

    connector().send([samples.EXPENSE], batch_identifier="GL-1")

    assert ledger.read_text().startswith(edited + HAND_WRITTEN)
    assert records(ledger)[("invoice:42", "GL-1")] == 1
