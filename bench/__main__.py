"""python -m bench: build a book of --records postable records on a database of its
own (dropped and created from scratch, migrated), time every workflow against its
floor, print the table and write the JSON.

    python -m bench                                  # 1,000,000 records, batch 100,000
    python -m bench --records 5000 --batch 1000 --json /tmp/small.json --drop
"""

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import db

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="postable records")
    parser.add_argument("--batch", type=int, default=100_000, help="records in the batch")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", db.DEFAULT_URL),
        help="its own database, dropped and recreated (the name must contain 'bench')",
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where the JSON goes")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of batch create/delete")
    parser.add_argument("--page-repeat", type=int, default=20, help="timed requests per page")
    parser.add_argument("--single-repeat", type=int, default=15, help="unbatch/rebatch pairs")
    parser.add_argument(
        "--no-month-end",
        dest="month_end",
        action="store_false",
        help="leave out the last suite (every unposted record batched and transferred)",
    )
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument(
        "--reuse-book",
        action="store_true",
        help="development only: copy the book from a template database kept by an earlier "
        "run with the same --records, instead of building it (numbers are not for the README)",
    )
    parser.add_argument(
        "--only",
        choices=["fanout"],
        help="development only: build the batch and run just that suite (fanout: the "
        "fanned-out transfers against their floor)",
    )
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.batch * 2 > args.records:
        sys.exit("--batch must be at most half of --records.")
    name = db.database_name(args.database_url)
    template = f"{name}_book_{args.records}"
    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))

    reused = args.reuse_book and db.exists(args.database_url, template)
    say(f"Database {name}: {'copied from ' + template if reused else 'created from scratch'}")
    db.recreate(args.database_url, template=template if reused else None)
    media = tempfile.mkdtemp(prefix="psa-bench-media-")
    db.setup_django(args.database_url, media)

    from django.core.management import call_command
    from django.db import connections

    from bench.book import build_book
    from bench.report import machine, markdown, print_table, summary_rows, write_json
    from bench.run import Bench

    migrate_started = time.perf_counter()
    if not reused:
        call_command("migrate", verbosity=0)
    migrate_seconds = round(time.perf_counter() - migrate_started, 2)
    if reused:
        build = {"reused_from": template, "seconds": None}
    else:
        report = build_book(records=args.records, verbose=not args.quiet)
        build = {
            "seconds": report.seconds,
            "steps": report.steps,
            "rows": report.rows,
            "shape": report.shape,
        }
        if args.reuse_book:
            connections.close_all()
            db.copy_to(args.database_url, template)
    build["migrate_seconds"] = migrate_seconds

    bench = Bench(
        batch=args.batch,
        repeat=args.repeat,
        page_repeat=args.page_repeat,
        single_repeat=args.single_repeat,
        month_end=args.month_end,
        verbose=not args.quiet,
    )
    if args.only:
        timings = bench.run_only(args.only)
        print(json.dumps(timings, indent=1))
        connections.close_all()
        shutil.rmtree(media, ignore_errors=True)
        if args.drop:
            db.drop(args.database_url)
        return 0
    timings = bench.run()
    info = machine()
    info["load_average_before"] = load_before
    result = {
        "meta": {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "records": args.records,
            "batch": args.batch,
            "database": name,
            "machine": info,
            "total_seconds": round(time.perf_counter() - started, 1),
        },
        "build": build,
        **timings,
    }
    result["summary"] = summary_rows(result)
    write_json(result, args.json)
    args.json.with_suffix(".md").write_text(markdown(result))
    if not args.quiet:
        print_table(result["summary"])
        if result["missing"]:
            print("\nMissing: " + "; ".join(result["missing"]))
        print(
            f"\nBook: {build['seconds']} s; whole run {result['meta']['total_seconds']} s; "
            f"load average {load_before} before, {info['load_average']} after."
        )
        print(f"JSON: {args.json}")
    connections.close_all()
    shutil.rmtree(media, ignore_errors=True)  # the export files of the timed transfers
    if args.drop:
        db.drop(args.database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
