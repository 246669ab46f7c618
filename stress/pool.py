"""The unposted records the scenarios batch: finished, in no batch, never unbatched and
never sent before (so that a batch of them needs no re-send confirmation), read once in
SQL and handed out without overlap between scenarios."""

import random

# Each kind: its table, its batch column, its original-batch column, and when it is
# finished (the postables' ready filters).
READY = {
    "invoice": ("invoicing_invoice", "gl_batch_id", "original_batch_id", "is_closed"),
    "expense": ("expenses_expenseentry", "gl_batch_id", "original_batch_id", "is_approved"),
    "freight": (
        "procurement_purchaseorder",
        "freight_gl_batch_id",
        "freight_original_batch_id",
        "status = 'closed' AND freight_amount <> 0",
    ),
    "product": (
        "procurement_purchaseorderline",
        "gl_batch_id",
        "original_batch_id",
        "received AND closed",
    ),
}


class Pool:
    def __init__(self, stack, rng: random.Random) -> None:
        self.items: list[tuple[str, int]] = []
        for kind, (table, batch, original, ready) in READY.items():
            rows = stack.sql(
                f"""SELECT r.id FROM {table} AS r
                WHERE r.{batch} IS NULL AND r.{original} IS NULL AND ({ready})
                  AND NOT EXISTS (
                    SELECT 1 FROM accounting_transferlog AS t
                    WHERE t.record_type = %s AND t.record_id = r.id)""",
                [kind],
            )
            self.items.extend((kind, record_id) for (record_id,) in rows)
        rng.shuffle(self.items)
        self.initial = len(self.items)

    def take(self, count: int, kind: str | None = None) -> list[tuple[str, int]]:
        chosen = [item for item in self.items if kind is None or item[0] == kind][:count]
        if len(chosen) < count:
            raise RuntimeError(
                f"only {len(chosen)} unposted {kind or 'records'} left of the {count} needed: "
                "give a bigger --records"
            )
        taken = set(chosen)
        self.items = [item for item in self.items if item not in taken]
        return chosen

    def __len__(self) -> int:
        return len(self.items)


def as_items(records) -> list[dict]:
    return [{"type": kind, "id": record_id} for kind, record_id in records]
