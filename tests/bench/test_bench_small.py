"""The benchmark, end to end, on a book of a few thousand records, so that it cannot rot.

It runs `python -m bench` in a process of its own, on a database of its own (created,
migrated and dropped by the command, on the server of DATABASE_URL), and prints the
table. Timings on a small book and a shared machine mean nothing: nothing is asserted
about them, only that the run completed and wrote every part of its JSON.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import dj_database_url

from bench import db

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
KEYS = {
    "meta",
    "build",
    "lists",
    "batch",
    "transfer",
    "books_check",
    "single",
    "month_end",
    "plans",
    "explain",
    "missing",
    "summary",
}


def _bench_url() -> str:
    settings = dj_database_url.parse(os.environ.get("DATABASE_URL") or "")
    assert "postgresql" in settings.get("ENGINE", ""), "the benchmark runs on PostgreSQL"
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    # Its own name, per test process: runs of the suite side by side do not collide.
    return f"postgres://{user}{password}@{host}:{port}/psa_bench_small_{os.getpid()}"


def test_the_benchmark_runs_end_to_end_on_a_small_book(tmp_path, capsys):
    url = _bench_url()
    output = tmp_path / "bench.json"
    command = [
        sys.executable,
        "-m",
        "bench",
        "--records=3000",
        "--batch=600",
        "--repeat=1",
        "--page-repeat=2",
        "--single-repeat=2",
        f"--database-url={url}",
        f"--json={output}",
        "--drop",
        "--quiet",
    ]
    try:
        # The fanned-out transfers run on a worker of their own, on the tests' Redis.
        # Month-end's transfer runs as the product's settings say: fanned out here too.
        env = {
            **os.environ,
            "BENCH_BROKER_URL": REDIS_URL,
            "TRANSFER_FANOUT_MIN": "0",
            "TRANSFER_PART_RECORDS": "500",
        }
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
        )
    finally:
        db.drop(url)  # also when the run failed half-way
    assert done.returncode == 0, done.stderr[-5000:]
    report = json.loads(output.read_text())
    assert set(report) >= KEYS, sorted(KEYS - set(report))
    assert report["summary"] and report["batch"]["create"] and report["transfer"]["formats"]
    # The books check of the batch's own export finds every record of it in step.
    books = report["books_check"]
    assert books["counts"]["in_step"] >= books["records"] > 0
    fanned_out = [t for t in report["transfer"]["formats"] if "parts" in t]
    assert len(fanned_out) == 3 and all(t["parts"] > 1 for t in fanned_out)

    # Month-end batched every unposted record and transferred it, phase by phase.
    month_end = report["month_end"]
    assert month_end["records"] > 0
    assert month_end["phases"]["create"] > 0 and month_end["phases"]["transfer"] > 0
    assert len(month_end["worker_peak_rss_mib"]) == 2

    with capsys.disabled():
        print(f"\nbench (small book, {report['meta']['records']:,} records; timings only):")
        for row in report["summary"]:
            print(
                f"  {row['workflow']:<52} {row['measured']:>10} {row['floor']:>8} {row['ratio']:>7}"
            )
