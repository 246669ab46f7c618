"""The beancount connector's names: the account a GL account is opened as
(`<Root>:<Type>:A<number>-<Name>`), string literals, the link every version of a
record carries (`^psa-<type>-<id>`), the external reference a send answers, and
the identity a transaction this connector wrote carries in its metadata."""

import re
import unicodedata
from typing import TYPE_CHECKING

from beancount.core.data import Transaction

from accounting.exporters.base import clean_text
from accounting.models import GL_ACCOUNT_ROOTS
from core.errors import ApplicationError

if TYPE_CHECKING:
    from accounting.gl import GLLine

# Beancount's root of each GL account type, as accounting's models declare it.
ROOTS = {str(type_): root for type_, root in GL_ACCOUNT_ROOTS.items()}

MAX_NAME_LENGTH = 60
# The link a record's transactions carry (`link_for`): psa-<type>-<id>.
_RECORD_LINK = re.compile(r"psa-([A-Za-z0-9_/.-]+)-([0-9]+)")


def _words(text: str) -> list[str]:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.findall(r"[A-Za-z0-9]+", ascii_text)


def camel_case(text: str) -> str:
    """'Accounts receivable' -> 'AccountsReceivable': a beancount account component."""
    return "".join(word[0].upper() + word[1:] for word in _words(text))[:MAX_NAME_LENGTH]


def account_name_for(line: "GLLine") -> str:
    """`<Root>:<Type>:A<number>-<Name>`; the `A` keeps the component valid whatever the
    number starts with."""
    try:
        root = ROOTS[line.account_type]
    except KeyError:
        raise ApplicationError(
            f"GL account {line.account_number} {line.account_name} has the type "
            f"'{line.account_type}', which the beancount connector cannot place under "
            "Assets, Liabilities, Income or Expenses.",
            code="validation_error",
            status_code=400,
        ) from None
    leaf = "A" + "-".join(_words(line.account_number))
    name = camel_case(line.account_name)
    if name:
        leaf = f"{leaf}-{name}"
    return f"{root}:{camel_case(line.account_type.replace('_', ' '))}:{leaf}"


def quoted(text: str) -> str:
    """A beancount string literal: one line, with backslashes and quotes escaped."""
    return '"' + clean_text(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def record_key(record_type: str, record_id: int) -> str:
    return f"{record_type}:{record_id}"


def link_for(record_type: str, record_id: int) -> str:
    return "psa-" + re.sub(r"[^A-Za-z0-9_/.-]", "-", f"{record_type}-{record_id}")


def external_reference(record_type: str, record_id: int, batch: str) -> str:
    return f"^{link_for(record_type, record_id)}@{batch}"


def _identity(entry: Transaction) -> tuple[str, int, str] | None:
    """(type, id, batch) of a transaction this connector wrote, from its metadata."""
    record = entry.meta.get("psa_record")
    batch = entry.meta.get("psa_batch")
    if not isinstance(record, str) or not isinstance(batch, str):
        return None
    record_type, _, record_id = record.partition(":")
    if not record_type or not re.fullmatch(r"[0-9]+", record_id):
        return None
    return record_type, int(record_id), batch
