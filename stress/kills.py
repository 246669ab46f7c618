"""`kills-file` and `kills-direct`: the Celery worker SIGKILLed at a random point of a
transfer, then recovered, round after round.

Each round creates a batch over HTTP: for files, the same --kill-batch records each
round as a GL journal CSV (deleted through the API after the round and sent again with
the re-send confirmation); for beancount, --direct-batch records never sent before, into
a fresh ledger each round (a direct re-send first removes each original from the ledger
one record at a time, which would leave no sending to kill). The worker's whole process
group is SIGKILLed after a delay drawn uniformly over the transfer's measured span, a
new worker started, and the product's recovery awaited: the transfer lease expires, the
beat's sweep marks the batch interrupted and queues it again (and the broker redelivers
the unacknowledged task after its visibility timeout). A batch still failed or
interrupted after a grace period is retried through the API, as Finance would, and
counted. Then the batch is checked: file and transfer log (and ledger) hold each record
exactly once.
"""

import time
from collections import Counter

from stress import checks
from stress.pool import as_items

RECOVERY_TIMEOUT = 420  # seconds a round waits for the batch to end done
RETRY_GRACE = 5  # seconds a failed / interrupted batch is left to the product first


def _transfer_seconds(stack, batch_id: int) -> float:
    return stack.sql(
        "SELECT extract(epoch FROM transfer_finished_at - transfer_started_at)::float "
        "FROM accounting_glbatch WHERE id = %s",
        [batch_id],
    )[0][0]


def recover(ctx, batch_id: int, timeout: float = RECOVERY_TIMEOUT) -> dict:
    """Waits for the batch to end done; retries it through the API when it stays failed
    or interrupted past the grace period. Returns how it ended and how long it took."""
    begun = time.monotonic()
    retries, since = 0, {}
    while True:
        state = ctx.state(batch_id)
        waited = time.monotonic() - begun
        if state == "done":
            return {"state": state, "seconds": waited, "api_retries": retries}
        if waited > timeout:
            return {"state": state, "seconds": waited, "api_retries": retries}
        if state in ("failed", "interrupted"):
            since.setdefault(state, time.monotonic())
            if time.monotonic() - since[state] > RETRY_GRACE:
                answer = ctx.api.retry(batch_id)
                retries += 1
                since.clear()
                if answer.status != 200:
                    ctx.say(f"    retry of {batch_id} answered {answer.label}")
        else:
            since.clear()
        time.sleep(0.25)


def verify(ctx, batch_id: int, *, direct: bool, ledger=None) -> dict:
    stack = ctx.stack
    if not direct:
        return checks.verify_file_batch(stack, batch_id)
    expected = checks.batch_records(stack, batch_id)
    logged = checks.log_rows(stack, batch_id)
    identifier = checks.batch_row(stack, batch_id)["batch_identifier"]
    result = {
        "records": len(expected),
        "log_twice": sum(1 for n in logged.values() if n > 1),
        "log_missing": len(expected - set(logged)),
        "log_extra": len(set(logged) - expected),
    }
    result.update(checks.verify_ledger(ledger, expected, identifier))
    return result


def run(ctx, *, rounds: int, direct: bool) -> dict:
    stack, rng, api, say = ctx.stack, ctx.rng, ctx.api, ctx.say
    label = "direct" if direct else "file"
    size = ctx.args.direct_batch if direct else ctx.args.kill_batch
    records = ctx.pool.take(size)
    if not direct:
        ctx.use_file_setup()

    def create(number: int, resend: bool):
        nonlocal records
        ledger = ctx.use_ledger(f"kills-{number:03d}.beancount") if direct else None
        if direct and number:
            records = ctx.pool.take(size)
        payload = {"items": as_items(records), "transfer": label}
        if resend and not direct:
            payload["confirm_resend"] = True
        answer = api.create_batch(**payload)
        if answer.status != 201:
            raise RuntimeError(f"batch create answered {answer.label}: {answer.text[:300]}")
        return answer.body["id"], ledger

    # One transfer without a kill: how long a transfer of this batch takes.
    batch_id, ledger = create(0, resend=False)
    calibration = recover(ctx, batch_id, timeout=300)
    span = _transfer_seconds(stack, batch_id)
    clean = verify(ctx, batch_id, direct=direct, ledger=ledger)
    if not direct:
        api.delete_batch(batch_id)
    say(f"  uncut {label} transfer of {len(records)} records: {span:.2f} s; {clean}")

    totals: Counter = Counter()
    kill_points: Counter = Counter()
    recoveries: list[float] = []
    api_retries = 0
    stuck: list[int] = []
    problems: list[str] = []
    begun = time.monotonic()
    done_rounds = 0
    for number in range(1, rounds + 1):
        batch_id, ledger = create(number, resend=True)
        started = ctx.wait_running(batch_id)
        delay = rng.uniform(0.0, span)
        time.sleep(max(0.0, started + delay - time.monotonic()))
        stack.worker.kill()
        row = checks.batch_row(stack, batch_id)
        logged = sum(checks.log_rows(stack, batch_id).values())
        if row["transfer_state"] != "running":
            kill_points[f"after the transfer ({row['transfer_state']})"] += 1
        elif logged == 0:
            kill_points["running, no log row committed"] += 1
        elif logged < len(records):
            kill_points["running, part of the log committed"] += 1
        else:
            kill_points["running, whole log committed, not done"] += 1
        stack.start_worker()
        outcome = recover(ctx, batch_id)
        api_retries += outcome["api_retries"]
        if outcome["state"] != "done":
            stuck.append(batch_id)
            say(
                f"  round {number}: batch {batch_id} still {outcome['state']} after "
                f"{outcome['seconds']:.0f} s"
            )
        else:
            recoveries.append(outcome["seconds"])
        result = verify(ctx, batch_id, direct=direct, ledger=ledger)
        for key, value in result.items():
            if isinstance(value, bool) or not isinstance(value, int):
                continue
            if key not in ("records", "transactions"):
                totals[key] += value
                if value and len(problems) < 20:
                    problems.append(f"round {number} batch {batch_id}: {key}={value}")
        totals["records_checked"] += result["records"]
        done_rounds = number
        if outcome["state"] == "done":
            if not direct:
                answer = api.delete_batch(batch_id)
                if answer.status != 204:
                    problems.append(f"delete of {batch_id}: {answer.label}")
                    break
        else:
            break  # its records stay locked in the stuck batch: no further round
        if number % 10 == 0:
            say(
                f"  {number} kills: points {dict(kill_points)}; recovery median "
                f"{sorted(recoveries)[len(recoveries) // 2]:.1f} s; totals {dict(totals)}"
            )
    recoveries.sort()
    return {
        "transfer": label,
        "records_per_batch": len(records),
        "uncut_transfer_seconds": round(span, 2),
        "uncut_check": clean,
        "calibration_recovery": calibration,
        "kills": done_rounds,
        "kill_points": dict(kill_points),
        "recovered_done": len(recoveries),
        "stuck_batches": stuck,
        "api_retries": api_retries,
        "recovery_seconds": {
            "median": round(recoveries[len(recoveries) // 2], 1) if recoveries else None,
            "max": round(recoveries[-1], 1) if recoveries else None,
            "min": round(recoveries[0], 1) if recoveries else None,
        },
        "sent_twice": totals["log_twice"]
        + totals.get("file_twice", 0)
        + totals.get("ledger_twice", 0),
        "lost": totals["log_missing"]
        + totals.get("file_missing", 0)
        + totals.get("ledger_missing", 0),
        "checks": dict(totals),
        "records_with_two_live_log_rows": checks.sent_twice_in_log(stack),
        "problems": problems,
        "seconds": round(time.monotonic() - begun, 1),
    }
