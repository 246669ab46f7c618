"""What every postable record model declares to be sent in GL batches, built from one
definition of when the record is ready.

A record model states its ready condition once, as a `Q` on its own columns, in a
`Batching`; the batch foreign keys, the check constraint, the partial indexes, the
adapter's SQL filter and its Python check `is_ready` all come from that one `Batching`:

    INVOICE_BATCHING = Batching("invoice", ready=Q(is_closed=True), date_field="date")

    class Invoice(models.Model):
        gl_batch, original_batch = INVOICE_BATCHING.foreign_keys()

        class Meta:
            constraints = [*INVOICE_BATCHING.constraints()]
            indexes = INVOICE_BATCHING.indexes()
"""

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, models
from django.db.models import Q

# The lookups a ready condition may use, each with what it means in Python.
_LOOKUPS: dict[str, Callable[[Any, Any], bool]] = {
    "exact": operator.eq,
    "isnull": lambda value, wanted: (value is None) == bool(wanted),
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "in": lambda value, choices: value in choices,
}


def _split(lookup: str) -> tuple[str, str]:
    field, _, name = lookup.partition("__")
    name = name or "exact"
    if "__" in name or name not in _LOOKUPS:
        raise ValueError(
            f"A ready condition reads the record's own columns with one of "
            f"{', '.join(_LOOKUPS)}; '{lookup}' is not one of them."
        )
    return field, name


def _check(condition: Q) -> None:
    for child in condition.children:
        if isinstance(child, Q):
            _check(child)
        else:
            _split(child[0])


def matches(condition: Q, record: models.Model) -> bool:
    """Whether the record, as it is in memory, meets the condition: the same answer as
    filtering the table with it, for the lookups in `_LOOKUPS` on non-null columns."""
    results = (
        matches(child, record)
        if isinstance(child, Q)
        else _matches_lookup(child[0], child[1], record)
        for child in condition.children
    )
    met = any(results) if condition.connector == Q.OR else all(results)
    return not met if condition.negated else met


def _matches_lookup(lookup: str, wanted: Any, record: models.Model) -> bool:
    field, name = _split(lookup)
    attname = record._meta.get_field(field).attname
    return _LOOKUPS[name](getattr(record, attname), wanted)


@dataclass(frozen=True)
class Batching:
    """How a kind of record is batched: its ready condition and its batch columns."""

    name: str  # the kind's type: the prefix of the index names ("invoice_unposted")
    ready: Q  # rows finished enough to be posted (closed, approved, received)
    date_field: str  # the date "thru date" filters on, first column of the unposted index
    constraint_prefix: str = ""  # the check constraint's prefix; the name by default
    batch_field: str = "gl_batch"
    original_batch_field: str = "original_batch"

    def __post_init__(self) -> None:
        _check(self.ready)

    def is_ready(self, record: models.Model) -> bool:
        return matches(self.ready, record)

    def is_locked(self, record: models.Model) -> bool:
        """In a GL batch: no change until it is unbatched."""
        return getattr(record, f"{self.batch_field}_id") is not None

    def foreign_keys(self) -> tuple[models.ForeignKey, models.ForeignKey]:
        """The batch the record is in, and the batch it was unbatched from."""
        return self._batch_key(), self._batch_key()

    @staticmethod
    def _batch_key() -> models.ForeignKey:
        return models.ForeignKey(
            "accounting.GLBatch",
            null=True,
            blank=True,
            on_delete=models.PROTECT,
            related_name="+",
            db_index=False,  # indexed in Meta.indexes; no second copy for batches to update
        )

    def constraints(self) -> list[models.CheckConstraint]:
        """A record in a batch has no batch it was unbatched from."""
        return [
            models.CheckConstraint(
                condition=Q(**{f"{self.batch_field}__isnull": True})
                | Q(**{f"{self.original_batch_field}__isnull": True}),
                name=f"{self.constraint_prefix or self.name}_in_batch_has_no_original_batch",
            )
        ]

    def unposted(self) -> Q:
        """Ready and in no batch: the rows a new batch takes. Plain lookups come first
        in name order, as `Q(**lookups)` orders them, then the nested conditions."""
        both = Q(**{f"{self.batch_field}__isnull": True}) & self.ready
        if both.connector != Q.AND or both.negated:
            return both
        lookups = sorted(child for child in both.children if not isinstance(child, Q))
        nested = [child for child in both.children if isinstance(child, Q)]
        return Q(*lookups, *nested)

    def indexes(self) -> list[models.Index]:
        return [
            models.Index(
                fields=[self.date_field, "id"],
                condition=self.unposted(),
                name=f"{self.name}_unposted",
            ),
            models.Index(fields=[self.batch_field], name=f"{self.name}_gl_batch"),
            models.Index(
                fields=[self.original_batch_field],
                condition=Q(**{f"{self.original_batch_field}__isnull": False}),
                name=f"{self.name}_original_batch",
            ),
        ]

    def ready_sql(self, model: type[models.Model]) -> tuple[str, tuple[Any, ...]]:
        """The ready condition as the database runs it: a WHERE fragment, its columns
        qualified by the model's table, and its parameters (for hand-written SQL)."""
        query = model.objects.filter(self.ready).query
        compiler = query.get_compiler(DEFAULT_DB_ALIAS)
        sql, params = compiler.compile(query.where)
        return sql, tuple(params)
