"""The report of a run: the machine it ran on, one summary row per timed workflow,
the table on stdout, the Markdown table for bench/README.md, and the JSON."""

import contextlib
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from django.db import connection

from bench.context import ROOT, TARGETS


def machine() -> dict:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        info["postgresql"] = cursor.fetchone()[0]
        for name in ("shared_buffers", "work_mem", "max_wal_size", "jit", "synchronous_commit"):
            cursor.execute(f"SHOW {name}")
            info[f"pg_{name}"] = cursor.fetchone()[0]
    with contextlib.suppress(OSError):
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    return info


def summary_rows(report: dict) -> list[dict]:
    """One row per timed workflow: measured, floor or target, ratio, met."""
    rows = []
    batch = report["batch"]
    for action in ("create", "delete"):
        r = batch[action]
        rows.append(
            {
                "workflow": f"batch {action} ({batch['records']:,} records)",
                "measured": f"{r['seconds']:.2f} s",
                "floor": f"{r['floor_seconds']:.2f} s",
                "ratio": f"{r['ratio']:.2f}x",
                "target": f"<= {r['target_ratio']:g}x floor",
                "met": r["met"],
                "extra": f"floor + audit links {r['floor_with_audit_seconds']:.2f} s "
                f"({r['ratio_vs_floor_with_audit']:.2f}x); {r['records_per_second']:,} rec/s",
            }
        )
    for t in report["transfer"]["formats"]:
        extra = f"{t['records_per_second']:,} rec/s"
        if "peak_growth_mib" in t:
            extra += f"; peak +{t['peak_growth_mib']} MiB"
        if "parts" in t:
            extra += f"; {t['parts']} parts"
        if "worker_peak_rss_mib" in t:
            extra += f"; worker processes' peak RSS {t['worker_peak_rss_mib']} MiB"
        if "small_peak_growth_mib" in t:
            extra += f" (+{t['small_peak_growth_mib']} MiB at {t['small_records']:,})"
        rows.append(
            {
                "workflow": f"transfer {t['format']} ({t['records']:,} records)",
                "measured": f"{t['seconds']:.2f} s",
                "floor": f"{t['floor_seconds']:.2f} s",
                "ratio": f"{t['ratio']:.2f}x",
                "target": f"<= {t['target_ratio']:g}x floor"
                + (
                    ", streamed"
                    if "streamed" in t
                    else ", single-process floor"
                    if "parts" in t
                    else " (at most 500 a file)"
                ),
                "met": t["met"],
                "extra": extra,
            }
        )
    books = report.get("books_check")
    if books:
        rows.append(
            {
                "workflow": f"books check of an uploaded export ({books['records']:,} records)",
                "measured": f"{books['seconds']:.2f} s",
                "floor": f"{books['floor_seconds']:.2f} s",
                "ratio": f"{books['ratio']:.2f}x",
                "target": f"<= {books['target_ratio']:g}x floor, streamed",
                "met": books["met"],
                "extra": f"upload {books['upload_seconds']:.2f} s + run "
                f"{books['run_seconds']:.2f} s; {books['records_per_second']:,} rec/s; peak "
                f"+{books['peak_growth_mib']} MiB (+{books['small_peak_growth_mib']} MiB at "
                f"{books['small_records']:,})",
            }
        )
    for r in report["lists"]["requests"]:
        rows.append(
            {
                "workflow": f"{r['interface']} unposted {r['what']}, {r['depth']} page "
                f"({r['page']})",
                "measured": f"{r['median_ms']:.1f} ms"
                if "median_ms" in r
                else f"HTTP {r['status']}",
                "floor": "",
                "ratio": "",
                "target": f"< {TARGETS['list_ms']:g} ms",
                "met": r["met"],
                "extra": f"{r.get('queries', '?')} queries; p95 {r.get('p95_ms', '?')} ms",
            }
        )
    page = report.get("deleted_page")
    if page:
        rows.append(
            {
                "workflow": f"page of a deleted batch ({page['records']:,} former records), "
                "first / last page",
                "measured": " / ".join(
                    f"{page[depth]['median_ms']:.1f}"
                    for depth in ("first", "last")
                    if depth in page
                )
                + " ms",
                "floor": "",
                "ratio": "",
                "target": f"< {TARGETS['deleted_page_ms']:g} ms",
                "met": page["met"],
                "extra": f"{page['queries']} queries; its split stored at the delete",
            }
        )
    month_end = report.get("month_end")
    if month_end:
        phases = month_end["phases"]
        rows.append(
            {
                "workflow": f"month-end in one go: every unposted record batched and "
                f"transferred, fanned out ({month_end['records']:,} records)",
                "measured": f"{month_end['seconds']:.2f} s",
                "floor": f"{month_end['floor_seconds']:.2f} s",
                "ratio": f"{month_end['ratio']:.2f}x",
                "target": f"< {month_end['target_seconds']:g} s",
                "met": month_end["met"],
                "extra": "; ".join(
                    f"{name} {seconds:.2f} s"
                    for name, seconds in phases.items()
                    if name != "transfer"
                )
                + f"; worker processes' peak RSS {month_end['worker_peak_rss_mib']} MiB",
            }
        )
    plans = report.get("plans", [])
    if plans:
        missed = [p["check"] for p in plans if not p["met"]]
        rows.append(
            {
                "workflow": f"EXPLAIN: hot queries on their index ({len(plans)} checked)",
                "measured": f"{len(plans) - len(missed)}/{len(plans)}",
                "floor": "",
                "ratio": "",
                "target": "all",
                "met": not missed,
                "extra": "; ".join(missed)[:200],
            }
        )
    for s in report["single"]:
        rows.append(
            {
                "workflow": f"{s['action']} one {s['type']} in a {s['batch_records']:,} batch",
                "measured": f"{s['median_ms']:.1f} ms",
                "floor": "",
                "ratio": "",
                "target": f"< {s['target_ms']:g} ms",
                "met": s["met"],
                "extra": f"{s['queries']} queries; p95 {s['p95_ms']} ms",
            }
        )
    return rows


def print_table(rows: list[dict]) -> None:
    columns = ["workflow", "measured", "floor", "ratio", "target", "met", "extra"]
    widths = {c: max(len(c), *(len(_cell(r[c])) for r in rows)) for c in columns if c != "extra"}
    header = "  ".join(c.ljust(widths[c]) for c in columns if c != "extra") + "  extra"
    print("\n" + header)
    print("-" * len(header))
    for r in rows:
        print(
            "  ".join(_cell(r[c]).ljust(widths[c]) for c in columns if c != "extra")
            + "  "
            + r["extra"]
        )


def markdown(report: dict) -> str:
    """The summary as a Markdown table, with the machine: for bench/README.md."""
    meta, machine_info = report["meta"], report["meta"]["machine"]
    lines = [
        f"{meta['date']}, {meta['records']:,} records, batch {meta['batch']:,}; "
        f"{machine_info.get('nproc')} cores ({machine_info.get('cpu', '?')}), "
        f"{machine_info.get('memory_gib', '?')} GiB; {machine_info['postgresql'].split(' on ')[0]}"
        f" (shared_buffers {machine_info['pg_shared_buffers']}, jit {machine_info['pg_jit']}); "
        f"Python {machine_info['python']}; load average "
        f"{machine_info['load_average_before'][0]} before, "
        f"{machine_info['load_average'][0]} after; book built in {report['build']['seconds']} s, "
        f"whole run {meta['total_seconds']} s.",
        "",
        "| workflow | measured | floor | ratio | target | met | notes |",
        "|---|---:|---:|---:|---|:-:|---|",
    ]
    for row in report["summary"]:
        lines.append(
            f"| {row['workflow']} | {row['measured']} | {row['floor']} | {row['ratio']} | "
            f"{row['target']} | {_cell(row['met'])} | {row['extra']} |"
        )
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return str(value)


def write_json(report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
