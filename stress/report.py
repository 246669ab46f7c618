"""`python -m stress.report [FOLDER]`: the figures of the last runs (var/stress/*.json)
as the Markdown of stress/README.md's "Latest figures"."""

import json
import sys
from pathlib import Path

from stress.__main__ import RESULTS, SCENARIOS


def _load(folder: Path) -> dict:
    found = {}
    for name in SCENARIOS:
        path = folder / f"{name}.json"
        if path.exists():
            found[name] = json.loads(path.read_text())
    return found


def _creates(d: dict) -> list[str]:
    return [
        f"- **creates** ({d['date']}, product {d['machine']['commit']}): {d['rounds']:,} rounds "
        f"x {d['clients']} clients = {d['requests']:,} requests in {d['seconds']:.0f} s: "
        + ", ".join(f"{n:,} {label}" for label, n in sorted(d["answers"].items()))
        + f"; {d['other_than_201_or_409_already_batched']} other answers, {d['5xx']} 5xx; "
        f"{d['created_batches']:,} batches of {d['records_batched']:,} records, transfers "
        f"{d['transfer_states']}; records in two batches: {d['records_in_two_batches']}; "
        f"batch columns disagreeing with the audit links: "
        f"{d['links_disagreeing_with_batch_columns']}; records with two live log rows: "
        f"{d['records_with_two_live_log_rows']}; file and log: "
        + ", ".join(f"{k} {v}" for k, v in d["file_and_log"].items() if k != "records")
        + f"; latency median {d['latency_ms']['median']} ms, p95 {d['latency_ms']['p95']} ms."
    ]


def _kills(name: str, d: dict) -> list[str]:
    r = d["recovery_seconds"]
    return [
        f"- **{name}** ({d['date']}, product {d['machine']['commit']}): {d['kills']} SIGKILLs "
        f"of the worker, {d['records_per_batch']:,} records a batch (uncut transfer "
        f"{d['uncut_transfer_seconds']} s); kill points {d['kill_points']}; ended done "
        f"{d['recovered_done']}/{d['kills']}, stuck {len(d['stuck_batches'])}, API retries "
        f"{d['api_retries']}; kill to done: median {r['median']} s, max {r['max']} s; "
        f"records sent twice {d['sent_twice']}, lost {d['lost']} "
        f"({d['checks'].get('records_checked', 0):,} records checked: "
        + ", ".join(f"{k} {v}" for k, v in d["checks"].items() if k != "records_checked")
        + f"); records with two live log rows: {d['records_with_two_live_log_rows']}."
    ]


def _faults(d: dict) -> list[str]:
    lines = [f"- **faults** ({d['date']}, product {d['machine']['commit']}):"]
    for fault, s in d["summary"].items():
        extra = ""
        if fault == "restart":
            extra = f", 5xx right after the restart: {s.get('http_5xx_after_restart', 0)}"
        lines.append(
            f"  - {fault}: {s['runs']} runs, {s['done']}/{s['batches']} batches done, API "
            f"retries {s['api_retries']}, sent twice {s['sent_twice']}, lost {s['lost']}{extra}"
        )
    for run in d["runs"]:
        if run["fault"] == "redis":
            lines.append(
                f"  - redis run: answers while down {run['answers_while_down']}, states while "
                f"down {run['states_while_down']}, final {run['final_states']}, Redis up to "
                f"all done {run['redis_up_to_all_done_seconds']} s"
            )
        else:
            lines.append(
                f"  - {run['fault']} run: at the fault {run['state_at_fault']} with "
                f"{run['logged_at_fault']:,} log rows, connections cut "
                f"{run['connections_cut']}, final {run['final_state']} after "
                f"{run['fault_to_done_seconds']} s, API retries {run['api_retries']}, "
                f"HTTP after: {run.get('http_after_restart') or '-'}, error shown: "
                f"{run['transfer_error'] or '-'}"
            )
    return lines


def _schemathesis(d: dict) -> list[str]:
    out = [
        f"- **schemathesis** ({d['date']}, product {d['machine']['commit']}): "
        f"{d['requests_total']:,} requests, {d['5xx']} 5xx, {d['failed_checks']} failed checks."
    ]
    for phase in ("stateless", "stateful", "revoke"):
        if phase not in d:
            continue
        p = d[phase]
        out.append(
            f"  - {phase}: {p['requests']:,} requests over {p['operations_seen']} operations, "
            f"{p['seconds']:.0f} s, statuses {p['statuses']}, failed checks {p['failures']}"
            + (
                f", schemathesis errors {len(p['schemathesis_errors'])}"
                if p.get("schemathesis_errors")
                else ""
            )
        )
    return out


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS
    found = _load(folder)
    lines: list[str] = []
    if found:
        machine = next(iter(found.values()))["machine"]
        lines.append(
            f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory_gib']} GiB, "
            f"PostgreSQL {machine['postgresql']}, Redis {machine['redis']}, Python "
            f"{machine['python']}, kernel {machine['kernel']}.\n"
        )
    for name, d in found.items():
        if name == "creates":
            lines += _creates(d)
        elif name.startswith("kills"):
            lines += _kills(name, d)
        elif name == "faults":
            lines += _faults(d)
        else:
            lines += _schemathesis(d)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
