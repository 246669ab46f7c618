"""The SQL names of each postable kind, for the hand-written floors: read off the
registered adapters (table, batch columns, date column) and the adapter's ready
condition as SQL (`ready_sql()`, compiled from the one `Q` its model declares), so the
floors touch exactly the rows the services do."""

from dataclasses import dataclass
from functools import cache

from accounting.models import AuditEvent, GLBatch, TransferLog
from accounting.postables import PostableKind, kinds
from invoicing.models import InvoiceLine


@dataclass(frozen=True)
class KindSQL:
    """One kind's table and columns, and its ready condition as a WHERE fragment with
    its parameters (its columns qualified by the table, so it fits any statement on
    that table alone)."""

    table: str
    pk: str
    batch: str
    original: str
    date: str
    ready: str
    ready_params: tuple


def _kind_sql(kind: PostableKind) -> KindSQL:
    meta = kind.model._meta
    ready, ready_params = kind.ready_sql()
    return KindSQL(
        table=meta.db_table,
        pk=meta.pk.column,
        batch=meta.get_field(kind.batch_field).column,
        original=meta.get_field(kind.original_batch_field).column,
        date=meta.get_field(kind.date_field).column,
        ready=ready,
        ready_params=ready_params,
    )


@cache
def kind_sql() -> dict[str, KindSQL]:
    """Every registered kind, in lock order, by its type."""
    return {kind.type: _kind_sql(kind) for kind in kinds()}


def big_tables() -> list[str]:
    """The tables the timed workflows read and write: vacuumed before each timed step."""
    return [
        *(k.table for k in kind_sql().values()),
        *(model._meta.db_table for model in (InvoiceLine, AuditEvent, TransferLog, GLBatch)),
    ]
