"""`faults`: infrastructure failing under a transfer, and under batch creation.

- drop: the worker's database connections cut (`pg_terminate_backend` on the backends
  whose client port belongs to the worker's processes) in the middle of a file transfer;
- restart: the private PostgreSQL restarted (`pg_ctl restart -m fast`) in the middle of
  a file transfer;
- redis: the private Redis stopped while batches are created over HTTP, then started
  again.

After each, the product's own recovery is awaited (a failed or interrupted batch is
retried through the API after a grace period, and counted): every batch must end done,
and nothing may be sent twice (file and transfer log hold each record once).
"""

import os
import time
from collections import Counter
from pathlib import Path

from stress import checks
from stress.kills import recover
from stress.pool import as_items

REDIS_BATCHES = 10  # batches created while Redis is down, per round
REDIS_BATCH_SIZE = 5


def records_needed(kill_batch: int) -> int:
    return kill_batch + 3 * REDIS_BATCHES * REDIS_BATCH_SIZE * 2


def _process_tree(pid: int) -> set[int]:
    """The pid and its descendants (the worker's pool processes)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        found.add(current)
        todo.extend(children.get(current, []))
    return found


def _local_ports(pids: set[int], remote_port: int) -> set[int]:
    """Local TCP ports of the processes' connections to 127.0.0.1:remote_port."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if inode in inodes and int(remote.split(":")[1], 16) == remote_port:
            ports.add(int(local.split(":")[1], 16))
    return ports


def drop_worker_connections(stack) -> int:
    """pg_terminate_backend on every backend serving the worker; how many were cut."""
    ports = _local_ports(_process_tree(stack.worker.pid), stack.pg_port)
    if not ports:
        return 0
    rows = stack.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE client_port = ANY(%s) AND pid <> pg_backend_pid()",
        [sorted(ports)],
    )
    return sum(1 for (cut,) in rows if cut)


def _mid_transfer(ctx, records, fault: str) -> dict:
    stack, api = ctx.stack, ctx.api
    answer = api.create_batch(items=as_items(records), transfer="file", confirm_resend=True)
    if answer.status != 201:
        raise RuntimeError(f"batch create answered {answer.label}: {answer.text[:300]}")
    batch_id = answer.body["id"]
    started = ctx.wait_running(batch_id)
    # Well inside the transfer: a third to two thirds of the uncut span.
    time.sleep(max(0.0, started + ctx.rng.uniform(0.3, 0.7) * ctx.span - time.monotonic()))
    at_fault = checks.batch_row(stack, batch_id)["transfer_state"]
    logged_at_fault = sum(checks.log_rows(stack, batch_id).values())
    begun = time.monotonic()
    probes: Counter = Counter()
    if fault == "drop":
        cut = drop_worker_connections(stack)
    else:
        stack.restart_postgres()
        cut = None
        probes = probe_web(ctx)
    outcome = recover(ctx, batch_id, timeout=ctx.fault_timeout)
    result = checks.verify_file_batch(stack, batch_id)
    state_row = checks.batch_row(stack, batch_id)
    figures = {
        "fault": fault,
        "batch": batch_id,
        "state_at_fault": at_fault,
        "logged_at_fault": logged_at_fault,
        "connections_cut": cut,
        "final_state": outcome["state"],
        "recovery_seconds": round(outcome["seconds"], 1),
        "fault_to_done_seconds": round(time.monotonic() - begun, 1),
        "api_retries": outcome["api_retries"],
        "transfer_error": state_row["transfer_error"][:300],
        "http_after_restart": dict(probes),
        **result,
    }
    if outcome["state"] == "done":
        for _ in range(8):  # a client retries a 5xx
            if api.delete_batch(batch_id).status < 500:
                break
    return figures


def probe_web(ctx) -> Counter:
    """Right after the database restart: GETs of the batch list until 8 answer in a row
    without a 5xx (at most 24), counted by status. Each gunicorn worker holds a database
    connection from before the restart."""
    answers: Counter = Counter()
    in_a_row = 0
    for _ in range(24):
        answer = ctx.api.call("GET", "/api/v1/accounting/batches/", params={"page_size": 1})
        answers[answer.label] += 1
        in_a_row = in_a_row + 1 if answer.status < 500 else 0
        if in_a_row == 8:
            break
    return answers


def _redis_down(ctx, records) -> dict:
    stack, api = ctx.stack, ctx.api
    stack.stop_redis()
    answers: Counter = Counter()
    before = stack.sql("SELECT coalesce(max(id), 0) FROM accounting_glbatch")[0][0]
    examples = []
    for index in range(REDIS_BATCHES):
        chosen = records[index * REDIS_BATCH_SIZE : (index + 1) * REDIS_BATCH_SIZE]
        try:
            answer = api.create_batch(items=as_items(chosen), transfer="file")
            answers[answer.label] += 1
            if answer.status != 201 and len(examples) < 3:
                examples.append(f"{answer.label}: {answer.text[:200]}")
        except Exception as error:  # a hung request counts as an answer too
            answers[type(error).__name__] += 1
    saved = [
        batch_id
        for (batch_id,) in stack.sql(
            "SELECT id FROM accounting_glbatch WHERE id > %s ORDER BY id", [before]
        )
    ]
    states_while_down = Counter(ctx.state(batch_id) for batch_id in saved)
    stack.start_redis()
    begun = time.monotonic()
    outcomes = [recover(ctx, batch_id, timeout=ctx.fault_timeout) for batch_id in saved]
    totals: Counter = Counter()
    for batch_id in saved:
        for key, value in checks.verify_file_batch(stack, batch_id).items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[key] += value
    return {
        "fault": "redis",
        "answers_while_down": dict(answers),
        "answer_examples": examples,
        "batches_saved": len(saved),
        "states_while_down": dict(states_while_down),
        "final_states": dict(Counter(o["state"] for o in outcomes)),
        "api_retries": sum(o["api_retries"] for o in outcomes),
        "recovery_seconds_max": round(max((o["seconds"] for o in outcomes), default=0), 1),
        "redis_up_to_all_done_seconds": round(time.monotonic() - begun, 1),
        **totals,
    }


def run(ctx, *, rounds: int) -> dict:
    stack, say = ctx.stack, ctx.say
    ctx.use_file_setup()
    ctx.fault_timeout = 300
    records = ctx.pool.take(ctx.args.kill_batch)
    answer = ctx.api.create_batch(items=as_items(records), transfer="file")
    batch_id = answer.body["id"]
    recover(ctx, batch_id, timeout=300)
    ctx.span = stack.sql(
        "SELECT extract(epoch FROM transfer_finished_at - transfer_started_at)::float "
        "FROM accounting_glbatch WHERE id = %s",
        [batch_id],
    )[0][0]
    ctx.api.delete_batch(batch_id)
    say(f"  uncut transfer of {len(records)} records: {ctx.span:.2f} s")
    runs = []
    for number in range(1, rounds + 1):
        for fault in ("drop", "restart"):
            figures = _mid_transfer(ctx, records, fault)
            say(f"  {fault} {number}: {figures}")
            runs.append(figures)
            if figures["final_state"] != "done":
                say("  the batch is stuck: its records stay locked, the next fault needs new ones")
                records = ctx.pool.take(ctx.args.kill_batch)
        small = ctx.pool.take(REDIS_BATCHES * REDIS_BATCH_SIZE)
        figures = _redis_down(ctx, small)
        say(f"  redis {number}: {figures}")
        runs.append(figures)
    summary = {}
    for fault in ("drop", "restart", "redis"):
        mine = [r for r in runs if r["fault"] == fault]
        if fault == "redis":
            done = sum(r["final_states"].get("done", 0) for r in mine)
            total = sum(r["batches_saved"] for r in mine)
        else:
            done = sum(1 for r in mine if r["final_state"] == "done")
            total = len(mine)
        summary[fault] = {
            "runs": len(mine),
            "batches": total,
            "done": done,
            "api_retries": sum(r["api_retries"] for r in mine),
            "sent_twice": sum(r.get("log_twice", 0) + r.get("file_twice", 0) for r in mine),
            "http_5xx_after_restart": sum(
                n
                for r in mine
                for k, n in r.get("http_after_restart", {}).items()
                if k.startswith("5")
            ),
            "lost": sum(
                r.get("log_missing", 0) + r.get("file_missing", 0)
                for r in mine
                if r.get("final_state", "done") == "done"
            ),
        }
    return {
        "summary": summary,
        "records_with_two_live_log_rows": checks.sent_twice_in_log(stack),
        "runs": runs,
    }
