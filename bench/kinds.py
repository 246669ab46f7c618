"""The SQL names of each postable kind, for the hand-written floors: read off the
registered adapters (table, batch columns, date column) and the adapter's own ready
condition compiled by the ORM, so the floors touch exactly the rows the services do."""

from dataclasses import dataclass
from functools import cache

from django.db import DEFAULT_DB_ALIAS

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


def ready_condition(kind: PostableKind) -> tuple[str, tuple]:
    """The adapter's `ready_filter()` compiled by the ORM: the SQL of its WHERE clause and
    its parameters. A condition that needs a join has no place in a one-table UPDATE."""
    query = kind.model.objects.filter(kind.ready_filter()).query
    if set(query.alias_map) != {kind.model._meta.db_table}:
        raise ValueError(
            f"The ready condition of {kind.type} reads other tables "
            f"({', '.join(sorted(query.alias_map))}); the floors update one table."
        )
    sql, params = query.get_compiler(using=DEFAULT_DB_ALIAS).compile(query.where)
    return sql, tuple(params)


def _kind_sql(kind: PostableKind) -> KindSQL:
    meta = kind.model._meta
    ready, ready_params = ready_condition(kind)
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
