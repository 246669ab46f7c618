"""The beancount connector's ledger file: located and locked inside the ledger
folder, read and parsed (leaving out, or truncating, a send's block cut off by a
crash), indexed, appended to one block at a time, and rewritten without a
record's transactions through a checked temporary file."""

import contextlib
import logging
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

from beancount.core.data import Open, Transaction
from beancount.parser import parser as beancount_parser

from accounting.connectors import files
from accounting.connectors.beancount.names import _identity, external_reference, quoted
from core.errors import ApplicationError

logger = logging.getLogger(__name__)

# The lines that frame what one send appended (comments to beancount).
BEGIN_MARKER = "; psa-begin"
END_MARKER = "; psa-end"
_BEGIN_LINE = re.compile(rb"; psa-begin .* ([0-9a-f]{16}) ([0-9]+)\r?")


@dataclass
class _LedgerIndex:
    # (type, id, batch) -> external reference of the transaction already written
    sent: dict[tuple[str, int, str], str] = field(default_factory=dict)
    # (GL account number, GL account type) -> the beancount account opened for it
    accounts: dict[tuple[str, str], str] = field(default_factory=dict)
    # every opened beancount account -> the GL account it was opened for (None: by hand)
    opened: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    # (type, id) -> the batches the record has a transaction of
    batches: dict[tuple[str, int], set[str]] = field(default_factory=dict)


class LedgerFile:
    """The ledger of a `BeancountConnector`: the file, its lock, its parse and its
    index, and how it is written."""

    name: str
    root: str | os.PathLike | None
    currency: str
    _location: files.LedgerLocation | None
    _folder: int | None
    _known: tuple[tuple[int, int, int] | None, _LedgerIndex] | None

    # Reading ------------------------------------------------------------------------

    def _file_state(self) -> tuple[int, int, int] | None:
        try:
            state = os.stat(self._file, dir_fd=self._folder, follow_symlinks=False)
        except FileNotFoundError:
            return None
        return (state.st_ino, state.st_size, state.st_mtime_ns)

    def _current_index(self) -> _LedgerIndex:
        """The ledger's index. A transfer sends chunk after chunk: the ledger is parsed
        again only when it changed since this connector last wrote it (another
        transfer, a removal, a hand edit), not once per chunk of a growing file."""
        state = self._file_state()
        if self._known is not None and self._known[0] == state:
            return self._known[1]
        entries, _ = self._parse()
        index = self._index(entries)
        self._known = (self._file_state(), index)
        return index

    @property
    def _file(self) -> str:
        assert self._location is not None, "the ledger is opened under its lock"
        return self._location.file

    @property
    def _folder_descriptor(self) -> int:
        assert self._folder is not None, "the ledger's folder is opened under its lock"
        return self._folder

    def _open(self, flags: int) -> int | None:
        return files.open_in_folder(self._folder_descriptor, self._file, flags, name=self.name)

    def _read(self) -> bytes | None:
        """The ledger's bytes (None when it does not exist yet), within the size limit."""
        descriptor = self._open(os.O_RDONLY)
        if descriptor is None:
            return None
        try:
            return files.read_limited(descriptor, name=self.name)
        finally:
            os.close(descriptor)

    def _text(self, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ApplicationError(
                f"The ledger {self.name} is not UTF-8 text (at byte {error.start}); save it "
                "as UTF-8, then retry the transfer.",
                code="ledger_invalid",
            ) from None

    def _parse(self, *, repair: bool = True) -> tuple[list, str]:
        """The ledger's entries and text (none when it does not exist yet), without a
        transfer's write that was cut off at its end (`_torn_tail`): `repair` (under the
        exclusive lock) truncates the ledger before it, a reader only leaves it out.

        Only parsing: the ledger's own balance errors (say, a hand-written entry) are
        the user's business, but text the parser cannot read must not be appended to or
        rewritten."""
        data = self._read()
        if data is None:
            return [], ""
        cut = _torn_tail(data)
        if cut is not None:
            logger.warning(
                "The beancount ledger %s ends in a transfer's write that was cut off "
                "(%d bytes from byte %d)%s",
                self.name,
                len(data) - cut,
                cut,
                "; it was truncated before it, and its records are sent again"
                if repair
                else "; it is left out",
            )
            if repair:
                self._truncate(cut)
            data = data[:cut]
        text = self._text(data)
        entries, errors, _ = beancount_parser.parse_string(text, report_filename=self.name)
        if errors:
            first = errors[0]
            line = (first.source or {}).get("lineno", "?")
            # The parser quotes the file: its words are for the server's log only.
            logger.warning(
                "The beancount ledger %s does not parse: line %s: %s (%d errors)",
                self.name,
                line,
                first.message,
                len(errors),
            )
            raise ApplicationError(
                f"The ledger {self.name} does not parse at line {line}; fix that line in "
                "the ledger, then retry the transfer.",
                code="ledger_invalid",
            )
        return entries, text

    def _truncate(self, size: int) -> None:
        descriptor = self._open(os.O_RDWR)
        if descriptor is None:
            return
        try:
            os.ftruncate(descriptor, size)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    @staticmethod
    def _index(entries: list) -> _LedgerIndex:
        index = _LedgerIndex()
        for entry in entries:
            if isinstance(entry, Open):
                number = entry.meta.get("psa_account_number")
                account_type = entry.meta.get("psa_account_type")
                gl_account = (str(number), str(account_type)) if number and account_type else None
                index.opened[entry.account] = gl_account
                if gl_account:
                    index.accounts.setdefault(gl_account, entry.account)
            elif isinstance(entry, Transaction):
                identity = _identity(entry)
                if identity:
                    record_type, record_id, batch = identity
                    index.sent[identity] = external_reference(record_type, record_id, batch)
                    index.batches.setdefault((record_type, record_id), set()).add(batch)
        return index

    @staticmethod
    def _transactions_of(
        entries: list, record_type: str, record_id: int
    ) -> Iterator[tuple[Transaction, str]]:
        for entry in entries:
            if isinstance(entry, Transaction):
                identity = _identity(entry)
                if identity and identity[:2] == (record_type, int(record_id)):
                    yield entry, identity[2]

    # Writing ------------------------------------------------------------------------

    def _write_block(self, descriptor: int, batch: str, body: str) -> None:
        """Append `body` (with the option line of a new ledger) as one block between
        `; psa-begin <batch> <token> <length>` and `; psa-end <token>`, in as few writes
        as the system allows, and fsync it. A process killed in the middle leaves a
        block without its end, which the next writer truncates (`_torn_tail`). The line
        end an existing ledger lacks goes first, so that our first line is never glued
        onto its last one."""
        size = os.fstat(descriptor).st_size
        if size == 0:
            body = f'option "operating_currency" {quoted(self.currency)}\n\n' + body
        elif not body:
            return
        lead = b"" if size == 0 or os.pread(descriptor, 1, size - 1) == b"\n" else b"\n"
        token = secrets.token_hex(8)
        inner = f"{body}{END_MARKER} {token}\n".encode()
        data = lead + f"{BEGIN_MARKER} {batch} {token} {len(inner)}\n".encode() + inner
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fsync(descriptor)

    @staticmethod
    def _without_lines(text: str, starts: set[int]) -> str:
        """The text without the transactions whose first line numbers are `starts`: each
        goes with its indented lines and the blank line that follows it."""
        parts = text.split("\n")
        lines = [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
        kept, index = [], 0
        while index < len(lines):
            if index + 1 not in starts:
                kept.append(lines[index])
                index += 1
                continue
            index += 1
            while index < len(lines) and lines[index][:1] in (" ", "\t") and lines[index].strip():
                index += 1
            if index < len(lines) and not lines[index].strip():
                index += 1
        return "".join(kept)

    def _check_rewrite(self, text: str, *, expected_entries: int) -> None:
        entries, errors, _ = beancount_parser.parse_string(text)
        if errors or len(entries) != expected_entries:
            raise ApplicationError(
                f"Removing from the ledger {self.name} would damage it (an entry "
                "of this record is laid out in a way the connector does not expect); the "
                "ledger was left as it was. Remove the transactions by hand.",
                code="ledger_invalid",
            )

    def _replace(self, text: str) -> None:
        """Write `text` to a temporary file beside the ledger and put it in the
        ledger's place, all inside the ledger's folder descriptor."""
        folder = self._folder
        mode = os.stat(self._file, dir_fd=folder, follow_symlinks=False).st_mode & 0o7777
        temporary = f".{self._file}.{secrets.token_hex(6)}.tmp"
        descriptor = os.open(
            temporary,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
            dir_fd=folder,
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
                os.fchmod(out.fileno(), mode)
            os.replace(temporary, self._file, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary, dir_fd=folder)
            raise
        self._sync_directory()

    def _sync_directory(self) -> None:
        """Make a created or replaced ledger file's directory entry durable too."""
        os.fsync(self._folder_descriptor)

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        """Locate the ledger inside the ledger folder, open its folder, and hold the
        lock file beside it; the ledger is opened only while this is held."""
        location = files.locate(self.name, root=self.root)
        with files.locked(location, exclusive=exclusive, name=self.name) as folder:
            self._location, self._folder = location, folder
            try:
                yield
            finally:
                self._location, self._folder = None, None


def _torn_tail(data: bytes) -> int | None:
    """Where the ledger's last psa block starts, when that block is a write cut off by
    a crash: it has no `; psa-end` line with its token, and less follows its begin line
    than the length it names. Its records have no transfer-log rows yet (those commit
    after the connector returns), so dropping it and sending them again is right.
    A block that lacks its end but is followed by as much text as it named was edited
    by hand: it is left to the parser. Text outside psa blocks is never touched."""
    at = data.rfind(b"\n" + BEGIN_MARKER.encode() + b" ")
    if at >= 0:
        at += 1
    elif data.startswith(BEGIN_MARKER.encode() + b" "):
        at = 0
    else:
        return None
    line_end = data.find(b"\n", at)
    if line_end < 0:
        return at  # the begin line itself was cut off
    match = _BEGIN_LINE.fullmatch(data, at, line_end)
    if match is None:
        return None  # not a block this connector began
    token, length = match[1], int(match[2])
    rest = data[line_end + 1 :]
    if re.search(rb"^" + END_MARKER.encode() + b" " + token + rb"\r?$", rest, re.M):
        return None
    return at if len(rest) < length else None
