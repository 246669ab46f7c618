"""The unposted records the scenarios batch: read once from the API's unposted list
(records never sent before, so that a batch of them needs no re-send confirmation) and
handed out without overlap between scenarios."""

import random

from stress.checks import KINDS


class Pool:
    def __init__(self, api, rng: random.Random) -> None:
        self.items: list[tuple[str, int]] = []
        for kind in KINDS:
            self.items.extend(
                (kind, item["id"]) for item in api.unposted(kind) if not item["previously_sent"]
            )
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
