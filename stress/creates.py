"""`creates`: rounds of 8 HTTP clients creating overlapping batches at the same moment.

Each round draws 16 unposted records of every kind; each client asks for a random 3 to
6 of them, all clients released together by a barrier, so their choices overlap. The
only answers allowed are 201 and 409 `already_batched`; afterwards no record may be in
two batches (the creation events' record links, the batch columns), every batch's
transfer ends done, and its file and transfer log hold each of its records once.
"""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from stress import checks
from stress.client import Api
from stress.pool import as_items

PER_ROUND = 16


def records_needed(rounds: int) -> int:
    return rounds * PER_ROUND


def run(ctx, *, rounds: int, clients: int = 8, max_seconds: float = 1800) -> dict:
    stack, rng, say = ctx.stack, ctx.rng, ctx.say
    ctx.use_file_setup()
    pool = ctx.pool.take(min(len(ctx.pool), records_needed(rounds)))
    apis = [Api(stack.base_url, ctx.token) for _ in range(clients)]
    answers: Counter = Counter()
    unexpected: list[str] = []
    created: list[int] = []
    started = time.monotonic()
    done_rounds = 0
    latencies: list[float] = []
    with ThreadPoolExecutor(max_workers=clients) as executor:
        for number in range(rounds):
            if time.monotonic() - started > max_seconds:
                say(f"  stopped after {number} rounds: the time bound of {max_seconds:.0f} s")
                break
            if len(pool) < PER_ROUND:
                say(f"  stopped after {number} rounds: the record pool ran out")
                break
            drawn = pool[:PER_ROUND]
            choices = [rng.sample(drawn, rng.randint(3, 6)) for _ in range(clients)]
            barrier = threading.Barrier(clients)

            def create(index: int, choice=None, barrier=barrier):
                barrier.wait(timeout=30)
                begun = time.perf_counter()
                answer = apis[index].create_batch(items=as_items(choice), transfer="file")
                return answer, time.perf_counter() - begun

            futures = [executor.submit(create, i, choices[i]) for i in range(clients)]
            batched: set = set()
            for choice, future in zip(choices, futures, strict=True):
                answer, seconds = future.result()
                latencies.append(seconds)
                answers[answer.label] += 1
                if answer.status == 201:
                    created.append(answer.body["id"])
                    batched.update(choice)
                elif answer.label != "409 already_batched" and len(unexpected) < 20:
                    unexpected.append(f"{answer.label}: {answer.text[:300]}")
            pool = [item for item in pool if item not in batched]
            done_rounds = number + 1
            if done_rounds % 100 == 0:
                say(f"  round {done_rounds}: {dict(answers)}")
    seconds = time.monotonic() - started
    say(f"  {done_rounds} rounds in {seconds:.0f} s; waiting for {len(created)} transfers")
    states = ctx.wait_all_done(created, timeout=600)
    per_batch = Counter()
    for batch_id in created:
        result = checks.verify_file_batch(stack, batch_id)
        for key in (
            "log_twice",
            "log_missing",
            "log_extra",
            "file_twice",
            "file_missing",
            "file_extra",
        ):
            per_batch[key] += result[key]
        per_batch["records"] += result["records"]
    latencies.sort()
    return {
        "rounds": done_rounds,
        "clients": clients,
        "requests": sum(answers.values()),
        "answers": dict(answers),
        "created_batches": len(created),
        "records_batched": per_batch["records"],
        "other_than_201_or_409_already_batched": sum(
            n for label, n in answers.items() if label not in ("201", "409 already_batched")
        ),
        "5xx": sum(n for label, n in answers.items() if label.startswith("5")),
        "records_in_two_batches": checks.records_in_two_batches(stack),
        "links_disagreeing_with_batch_columns": checks.links_disagreeing_with_columns(stack),
        "records_with_two_live_log_rows": checks.sent_twice_in_log(stack),
        "transfer_states": states,
        "file_and_log": dict(per_batch),
        "latency_ms": {
            "median": round(1000 * latencies[len(latencies) // 2], 1) if latencies else None,
            "p95": round(1000 * latencies[int(len(latencies) * 0.95)], 1) if latencies else None,
        },
        "seconds": round(seconds, 1),
        "unexpected_examples": unexpected,
    }
