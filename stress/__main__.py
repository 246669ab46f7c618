"""python -m stress: reliability figures under load and faults, on a private stack.

    .venv/bin/python -m stress                          # every scenario, full counts
    .venv/bin/python -m stress creates --rounds 50      # one scenario, fewer rounds
    .venv/bin/python -m stress kills-file kills-direct faults --rounds 5

Starts its own PostgreSQL cluster, Redis, gunicorn (4 workers) and Celery worker (and
beat when the product has a beat schedule) on 127.0.0.1, builds a book, runs the
scenarios one after another, prints each one's figures and writes them as JSON to
var/stress/<scenario>.json, then stops everything it started.
"""

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stress import checks
from stress.stack import ROOT, Stack, StackError, wait_until

SCENARIOS = ["creates", "kills-file", "kills-direct", "faults", "schemathesis"]
FULL_ROUNDS = {"creates": 1000, "kills-file": 100, "kills-direct": 100, "faults": 3}
RESULTS = ROOT / "var" / "stress"


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m stress", description=__doc__.split("\n")[0])
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (all)")
    parser.add_argument(
        "--rounds",
        type=int,
        help="rounds of creates and of each kill scenario (default: the "
        "full counts, creates 1000, kills 100 each)",
    )
    parser.add_argument(
        "--kill-batch",
        type=int,
        default=8000,
        help="records in a killed file transfer's batch (about 1-3 s of transfer)",
    )
    parser.add_argument(
        "--fault-rounds", type=int, default=3, help="rounds of each fault (default 3)"
    )
    parser.add_argument(
        "--direct-batch",
        type=int,
        default=5000,
        help="records in a killed beancount transfer's batch (new records each round)",
    )
    parser.add_argument(
        "--schemathesis-examples",
        type=int,
        default=120,
        help="generated cases per operation for schemathesis",
    )
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder (logs)")
    parser.add_argument("--workdir", type=Path, help="the stack's folder (default: a temp one)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--at",
        metavar="COMMIT",
        help="run against the product as committed at COMMIT (e.g. HEAD), exported to a "
        "temporary folder with this stress/ folder copied in, instead of the working tree",
    )
    args = parser.parse_args(argv)
    args.scenarios = args.scenarios or SCENARIOS
    unknown = sorted(set(args.scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    return args


def machine(stack) -> dict:
    model = ""
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        kib = int(info.readline().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(kib / 1024 / 1024, 1),
        "postgresql": stack.pg_version(),
        "redis": subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True
        ).stdout.split()[2],
        "python": platform.python_version(),
        "kernel": platform.release(),
        "commit": os.environ.get("PSA_STRESS_COMMIT")
        or subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        + " + working tree",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


class Context:
    """What the scenarios share: the stack, the API as Finance, the record pool."""

    def __init__(self, stack: Stack, book: dict, args, say) -> None:
        from stress.client import Api
        from stress.pool import Pool

        self.stack, self.args, self.say = stack, args, say
        self.rng = random.Random(args.seed)
        self.username, self.password = book["username"], book["password"]
        self.api = Api.signed_in(stack.base_url, self.username, self.password)
        self.token = self.api.session.headers["Authorization"].split()[1]
        self.pool = Pool(stack, self.rng)
        self.ledger_relative = "LEDGER_ROOT" in (ROOT / "config" / "settings.py").read_text()

    # --- setup --------------------------------------------------------------------------

    def use_file_setup(self) -> None:
        answer = self.api.setup(
            package="other", direct_transfer=False, export_format="gl_journal_csv"
        )
        if answer.status != 200:
            raise StackError(f"setup for files refused: {answer.label} {answer.text[:300]}")

    def use_ledger(self, name: str) -> Path:
        """Direct transfer to a fresh beancount ledger; returns its path on disk."""
        path = self.stack.ledgers / name
        ledger_path = name if self.ledger_relative else str(path)
        answer = self.api.setup(
            package="beancount",
            direct_transfer=True,
            options={"ledger_path": ledger_path, "currency": "USD"},
            create_ledger=True,  # a fresh ledger: made empty, as the setup refuses a missing one
        )
        if answer.status != 200:
            raise StackError(f"setup for beancount refused: {answer.label} {answer.text[:300]}")
        return path

    # --- waiting on transfers -----------------------------------------------------------

    def state(self, batch_id: int) -> str:
        return checks.batch_row(self.stack, batch_id)["transfer_state"]

    def wait_all_done(self, batch_ids, *, timeout: float) -> dict:
        """Waits (bounded) until every batch's transfer is done or failed; the states."""
        deadline = time.monotonic() + timeout
        ids = list(batch_ids)
        while True:
            rows = (
                dict(
                    self.stack.sql(
                        "SELECT id, transfer_state FROM accounting_glbatch WHERE id = ANY(%s)",
                        [ids],
                    )
                )
                if ids
                else {}
            )
            pending = [i for i, s in rows.items() if s in ("queued", "running")]
            if not pending or time.monotonic() > deadline:
                states: dict = {}
                for state in rows.values():
                    states[state] = states.get(state, 0) + 1
                return states
            time.sleep(0.5)

    def wait_running(self, batch_id: int, timeout: float = 120) -> float:
        wait_until(
            lambda: self.state(batch_id) in ("running", "done", "failed"),
            timeout=timeout,
            what=f"batch {batch_id}'s transfer to start",
            interval=0.005,
        )
        return time.monotonic()


def run_at(commit: str, argv: list[str]) -> int:
    """Export the product at `commit` to a temporary folder, copy this harness in, and
    run the same command there (the figures still go to this tree's var/stress/)."""
    folder = Path(tempfile.mkdtemp(prefix="psa-stress-src-"))
    try:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
        shutil.rmtree(folder / "stress", ignore_errors=True)
        shutil.copytree(
            ROOT / "stress", folder / "stress", ignore=shutil.ignore_patterns("__pycache__")
        )
        sha = subprocess.run(
            ["git", "rev-parse", "--short", commit],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        rest = [a for a in argv if a != "--at" and a != commit]
        if "--results" not in rest:
            rest += ["--results", str(RESULTS)]
        env = {**os.environ, "PSA_STRESS_COMMIT": sha}
        print(f"Product at {commit} ({sha}), exported to {folder}", flush=True)
        return subprocess.run(
            [sys.executable, "-m", "stress", *rest], cwd=folder, env=env
        ).returncode
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    if args.at:
        return run_at(args.at, argv)
    say = lambda *a: print(*a, flush=True)  # noqa: E731
    args.results.mkdir(parents=True, exist_ok=True)
    from stress import creates, faults, kills, schema

    rounds = {name: args.rounds or FULL_ROUNDS.get(name, 0) for name in args.scenarios}
    if "faults" in rounds:
        rounds["faults"] = args.fault_rounds
    needed = 2000
    if "creates" in rounds:
        needed += creates.records_needed(rounds["creates"])
    if "kills-file" in rounds:
        needed += args.kill_batch
    if "kills-direct" in rounds:
        needed += (rounds["kills-direct"] + 1) * args.direct_batch
    if "faults" in rounds:
        needed += faults.records_needed(args.kill_batch) + args.kill_batch
    book_records = max(5000, int(needed / 0.8))
    say(f"Scenarios: {', '.join(args.scenarios)}; book of {book_records:,} records")
    started = dt.datetime.now(dt.UTC)
    with Stack(workdir=args.workdir, keep=args.keep, say=say) as stack:
        stack.manage("demo")
        built = subprocess.run(
            [sys.executable, "-m", "stress.book", "--records", str(book_records)],
            cwd=ROOT,
            env=stack.env,
            capture_output=True,
            text=True,
        )
        if built.returncode:
            raise StackError(f"the book failed:\n{built.stderr[-3000:]}")
        book = json.loads(built.stdout.strip().splitlines()[-1])
        say(f"Book built in {book['seconds']} s: {book['rows']}")
        stack.start_services()
        say(
            f"gunicorn on {stack.base_url} (4 workers), Celery worker"
            + (" and beat" if stack.has_beat_schedule else " (no beat schedule in the product)")
        )
        ctx = Context(stack, book, args, say)
        info = machine(stack)
        say(f"Machine: {info}")
        runners = {
            "creates": lambda: creates.run(ctx, rounds=rounds["creates"]),
            "kills-file": lambda: kills.run(ctx, rounds=rounds["kills-file"], direct=False),
            "kills-direct": lambda: kills.run(ctx, rounds=rounds["kills-direct"], direct=True),
            "faults": lambda: faults.run(ctx, rounds=rounds["faults"]),
            "schemathesis": lambda: schema.run(ctx, examples=args.schemathesis_examples),
        }
        for name in args.scenarios:
            say(f"== {name}")
            begun = time.monotonic()
            figures = runners[name]()
            figures["scenario"] = name
            figures["date"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            figures["wall_seconds"] = round(time.monotonic() - begun, 1)
            figures["machine"] = info
            figures["stack"] = {
                "gunicorn_workers": 4,
                "celery_worker_concurrency": stack.worker_concurrency,
                "beat": stack.has_beat_schedule,
                "visibility_timeout": stack.visibility_timeout or "product default",
                "transfer_lease_seconds": stack.lease_seconds,
                "transfer_sweep_seconds": stack.sweep_seconds,
                "book_records": book_records,
            }
            (args.results / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str))
            say(
                json.dumps(
                    {k: v for k, v in figures.items() if k != "machine"}, indent=1, default=str
                )
            )
    say(f"Done: {started:%Y-%m-%d %H:%M} UTC, figures in {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
