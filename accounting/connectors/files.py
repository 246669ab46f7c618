"""The ledger folder: the one folder connectors read and write, set by the server's
operator (`settings.LEDGER_ROOT`).

Setup names a ledger relative to the folder (`books/main.beancount`). A name is checked
twice: by its text alone (`name_problem`: no absolute paths, no `..`, no control
characters), and on disk (`locate`: its real path, symbolic links followed, stays inside
the folder's real path, and it and its lock file `<name>.lock` are regular files or do
not exist yet). Setup runs both when it is saved; a connector runs both again each time
it opens the ledger, and then opens the located path one folder at a time from the
folder's descriptor without following any symbolic link (`O_NOFOLLOW`), so a link
swapped in after the check is refused rather than followed. Missing folders of the name
are made inside the folder. What is opened is checked again on its descriptor
(`fstat`): a device, a pipe or a folder is refused before anything is read, and a
ledger over `settings.LEDGER_MAX_BYTES` is not read at all.

Errors name the ledger as setup names it, never a server path or what a file holds.
"""

import errno
import fcntl
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from core.errors import ApplicationError

__all__ = [
    "LedgerFileError",
    "LedgerLocation",
    "folder_descriptor",
    "ledger_root",
    "locate",
    "name_problem",
    "open_in_folder",
    "read_limited",
]

OPTION = "options.ledger_path"
MAX_NAME_LENGTH = 1000
MAX_PART_BYTES = 255
_NO_FOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


class LedgerFileError(ApplicationError):
    """A ledger name or file the connector will not use. `problem` is the short text
    shown beside the setup's ledger_path field; `message` is the sentence for a
    transfer's error, naming the ledger."""

    def __init__(self, message: str, *, problem: str | None = None) -> None:
        self.problem = problem or message
        super().__init__(
            message,
            code="validation_error",
            status_code=400,
            extra={"fields": {OPTION: [self.problem]}},
        )


def ledger_root() -> Path:
    return Path(settings.LEDGER_ROOT)


def name_problem(name: Any) -> str | None:
    """What is wrong with `name` as the name of a ledger, from its text alone; None
    when nothing is."""
    example = "for example books/main.beancount"
    if not isinstance(name, str):
        return f"Give the ledger's name as text, {example}."
    if not name.strip():
        return f"Give the ledger's name inside the ledger folder, {example}."
    if len(name) > MAX_NAME_LENGTH:
        return f"The name is longer than {MAX_NAME_LENGTH} characters."
    if any(ord(character) < 32 or ord(character) == 127 for character in name):
        return "The name holds a control character; use letters, digits, '.', '-', '_' and '/'."
    if name.startswith("/") or name.startswith("\\"):
        return (
            "Give the name relative to the ledger folder the server's operator set, "
            f"without a leading slash, {example}."
        )
    parts = name.split("/")
    if ".." in parts:
        return "The name may not contain '..': ledgers stay inside the ledger folder."
    if parts[-1] in ("", "."):
        return f"The name ends in a folder; name the ledger file, {example}."
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_PART_BYTES for part in parts):
        return f"A part of the name is longer than {MAX_PART_BYTES} bytes."
    return None


@dataclass(frozen=True)
class LedgerLocation:
    """Where a ledger is: the ledger folder's real path, the real folders below it and
    the file's name (none of them a symbolic link when it was located)."""

    name: str  # as setup names it: the only name errors show
    root: Path
    folders: tuple[str, ...]
    file: str

    @property
    def lock_file(self) -> str:
        return self.file + ".lock"


def _outside(name: str) -> LedgerFileError:
    return LedgerFileError(
        f"The ledger {name} leads outside the ledger folder (through a symbolic link); the "
        "connector only reads and writes inside it. Set ledger_path in the accounting "
        "package setup to a file inside the folder.",
        problem="It leads outside the ledger folder through a symbolic link; name a file "
        "inside the folder.",
    )


def _not_regular(name: str) -> LedgerFileError:
    return LedgerFileError(
        f"The ledger {name} is not a regular file (it is a folder, a device or a pipe); "
        "set ledger_path in the accounting package setup to a file.",
        problem="It is a folder, a device or a pipe, not a file.",
    )


def _not_a_folder(name: str) -> LedgerFileError:
    return LedgerFileError(
        f"The ledger {name} is in a folder that is a file; set ledger_path in the "
        "accounting package setup to a file in a folder.",
        problem="A folder of the name is a file.",
    )


def _root_unusable() -> LedgerFileError:
    return LedgerFileError(
        "The ledger folder the server's operator set (LEDGER_ROOT) is not a folder the "
        "server can use; ask them to check it.",
        problem="The ledger folder the server's operator set (LEDGER_ROOT) is not usable.",
    )


def _name_refused(problem: str) -> LedgerFileError:
    return LedgerFileError(
        f"The accounting package setup's ledger_path cannot be used: {problem} Set it "
        "in the setup, then retry.",
        problem=problem,
    )


def _os_error(name: str, error: OSError) -> LedgerFileError:
    # strerror only ("Permission denied"): the OSError's own text carries the path.
    reason = error.strerror or type(error).__name__
    return LedgerFileError(
        f"The ledger {name} cannot be opened ({reason}); check the file in the ledger "
        "folder, then retry.",
        problem=f"It cannot be opened ({reason}).",
    )


def _regular_or_missing(path: str) -> bool:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return True
    return stat.S_ISREG(mode)


def locate(name: Any, *, root: str | os.PathLike | None = None) -> LedgerLocation:
    """The ledger `name` names inside the ledger folder, checked on disk as it is now:
    raises LedgerFileError when the name or what it leads to is refused. Nothing is
    created."""
    problem = name_problem(name)
    if problem:
        raise _name_refused(problem)
    root_path = os.path.realpath(root if root is not None else ledger_root())
    if os.path.lexists(root_path) and not os.path.isdir(root_path):
        raise _root_unusable()
    real = os.path.realpath(os.path.join(root_path, name))
    if not real.startswith(root_path.rstrip(os.sep) + os.sep):
        raise _outside(name)
    try:
        if not _regular_or_missing(real):
            raise _not_regular(name)
        lock = os.path.realpath(real + ".lock")
        if lock != real + ".lock":
            raise _outside(name)
        if not _regular_or_missing(lock):
            raise _not_regular(name + ".lock")
    except NotADirectoryError:
        raise _not_a_folder(name) from None
    except OSError as error:
        raise _os_error(name, error) from None
    relative = os.path.relpath(real, root_path).split(os.sep)
    return LedgerLocation(
        name=name, root=Path(root_path), folders=tuple(relative[:-1]), file=relative[-1]
    )


@contextmanager
def folder_descriptor(location: LedgerLocation) -> Iterator[int]:
    """A descriptor of the ledger's folder, opened from the ledger folder one name at a
    time without following symbolic links; missing folders are made."""
    name = location.name
    try:
        os.makedirs(location.root, exist_ok=True)
        descriptor = os.open(location.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (NotADirectoryError, FileExistsError):
        raise _root_unusable() from None
    except OSError as error:
        raise _os_error(name, error) from None
    try:
        for part in location.folders:
            try:
                try:
                    inner = os.open(
                        part, os.O_RDONLY | os.O_DIRECTORY | _NO_FOLLOW, dir_fd=descriptor
                    )
                except FileNotFoundError:
                    with suppress(FileExistsError):
                        os.mkdir(part, 0o777, dir_fd=descriptor)
                    inner = os.open(
                        part, os.O_RDONLY | os.O_DIRECTORY | _NO_FOLLOW, dir_fd=descriptor
                    )
            except OSError as error:
                if error.errno == errno.ELOOP:
                    raise _outside(name) from None
                if error.errno == errno.ENOTDIR:
                    # A symbolic link (to anything) or a file where a folder should be.
                    if _is_link(part, descriptor):
                        raise _outside(name) from None
                    raise _not_a_folder(name) from None
                raise _os_error(name, error) from None
            os.close(descriptor)
            descriptor = inner
        yield descriptor
    finally:
        os.close(descriptor)


def _is_link(part: str, folder: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(part, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


def open_in_folder(
    folder: int, file: str, flags: int, *, name: str, mode: int = 0o666
) -> int | None:
    """A descriptor of the regular file `file` in `folder`, opened without following a
    symbolic link and without waiting on a pipe; None when it does not exist (and
    `flags` do not create it). Anything but a regular file is refused."""
    try:
        descriptor = os.open(file, flags | _NO_FOLLOW | os.O_NONBLOCK, mode, dir_fd=folder)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _outside(name) from None
        if error.errno in (errno.EISDIR, errno.ENXIO, errno.ENODEV, errno.ETXTBSY):
            raise _not_regular(name) from None
        raise _os_error(name, error) from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise _not_regular(name)
    return descriptor


def create_in_folder(folder: int, file: str, flags: int, *, name: str) -> int:
    """As `open_in_folder`, creating the file when it does not exist."""
    descriptor = open_in_folder(folder, file, flags | os.O_CREAT, name=name)
    assert descriptor is not None, "O_CREAT makes the file when it is missing"
    return descriptor


@contextmanager
def locked(location: LedgerLocation, *, exclusive: bool, name: str) -> Iterator[int]:
    """Open the folder of a located ledger or book and hold the lock file beside it
    (shared to read, exclusive to write); answer the folder's descriptor. The file
    itself is opened only while this is held."""
    with folder_descriptor(location) as folder:
        lock = create_in_folder(folder, location.lock_file, os.O_RDWR, name=f"{name}.lock")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield folder
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        finally:
            os.close(lock)


def read_limited(descriptor: int, *, name: str, limit: int | None = None) -> bytes:
    """All of a regular file's bytes, refused when it holds more than `limit`
    (`settings.LEDGER_MAX_BYTES`)."""
    limit = settings.LEDGER_MAX_BYTES if limit is None else limit
    too_large = LedgerFileError(
        f"The ledger {name} is larger than the {_size(limit)} the server reads "
        "(LEDGER_MAX_BYTES); split it, or ask the server's operator to raise the limit.",
        problem=f"It is larger than {_size(limit)}.",
    )
    if os.fstat(descriptor).st_size > limit:
        raise too_large
    chunks, total = [], 0
    while True:
        chunk = os.pread(descriptor, min(1 << 20, limit + 1 - total), total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise too_large
    return b"".join(chunks)


def _size(limit: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit:,} bytes"
