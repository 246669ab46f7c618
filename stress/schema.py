"""`schemathesis`: schemathesis's CLI over every operation of /api/schema/ against
gunicorn, as Finance (a token from the token endpoint): the examples, coverage and
fuzzing phases with N generated cases per operation, then the stateful phase (the
schema's links: create, then read, change, act on and delete what was created). Checks:
no 5xx, and every response's status code, content type and body as the schema
documents them. Figures come from schemathesis's NDJSON event stream."""

import json
import subprocess
import time
from collections import Counter
from pathlib import Path

from stress.stack import PYTHON, ROOT

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


# Revoking the caller's own token (POST /api/v1/auth/token/revoke/) would turn every
# later request into a 401: that operation runs last, in a run of its own.
REVOKE = "/auth/token/revoke/"


def _run(
    ctx, name: str, phases: str, examples: int, max_time: int, only_revoke: bool = False
) -> dict:
    """One schemathesis run; `max_time` bounds it (the run is stopped past it)."""
    stack = ctx.stack
    report = stack.dir / f"schemathesis-{name}.ndjson"
    command = [
        str(Path(PYTHON).with_name("schemathesis")),
        "run",
        f"{stack.base_url}/api/schema/?format=json",
        "--header",
        f"Authorization: Token {ctx.token}",
        "--phases",
        phases,
        "--checks",
        CHECKS,
        "--max-examples",
        str(examples),
        "--workers",
        "2",
        "--seed",
        str(ctx.args.seed),
        "--no-shrink",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "60",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--include-path-regex" if only_revoke else "--exclude-path-regex",
        REVOKE,
        "--no-color",
        "--output-truncate",
        "true",
    ]
    begun = time.monotonic()
    with (stack.logs / f"schemathesis-{name}.log").open("w") as log:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=stack.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=max_time + 600,
        )
    figures = count(report)
    figures["exit_code"] = done.returncode
    figures["seconds"] = round(time.monotonic() - begun, 1)
    ctx.say(
        f"  {name}: {figures['requests']} requests, {figures['statuses']}, "
        f"failures {figures['failures']}"
    )
    return figures


def count(report: Path) -> dict:
    """Requests, status codes, operations and failed checks from the NDJSON events."""
    statuses: Counter = Counter()
    failures: Counter = Counter()
    operations: set = set()
    examples: list = []
    requests = 0
    errors: list = []
    for line in report.read_text().splitlines():
        event = json.loads(line)
        if "NonFatalError" in event:  # schemathesis's own errors, not an answer
            error = event["NonFatalError"]
            errors.append(f"{error.get('label')}: {json.dumps(error.get('value'))[:300]}")
        for _, payload in event.items():
            if not isinstance(payload, dict):
                continue
            for recorder in _recorders(payload):
                for interaction in (recorder.get("interactions") or {}).values():
                    response = interaction.get("response")
                    requests += 1
                    statuses[str(response["status_code"]) if response else "no response"] += 1
                    request = interaction.get("request") or {}
                    if request:
                        operations.add(request.get("method", "") + " " + recorder.get("label", ""))
                for checks in (recorder.get("checks") or {}).values():
                    for check in checks:
                        if check.get("status") in ("FAILURE", "failure", "ERROR", "error"):
                            failures[check.get("name", "?")] += 1
                            if len(examples) < 10:
                                examples.append(
                                    f"{check.get('name')}: "
                                    f"{json.dumps(check.get('failure_info'), default=str)[:400]}"
                                )
    return {
        "requests": requests,
        "statuses": dict(sorted(statuses.items())),
        "5xx": sum(n for code, n in statuses.items() if code.startswith("5")),
        "failures": dict(failures),
        "failure_examples": examples,
        "schemathesis_errors": errors[:10],
        "operations_seen": len({op.split(" ", 1)[1] for op in operations if " " in op}),
    }


def _recorders(payload: dict):
    recorder = payload.get("recorder")
    if isinstance(recorder, dict):
        yield recorder


def run(ctx, *, examples: int) -> dict:
    stateless = _run(ctx, "stateless", "examples,coverage,fuzzing", examples, max_time=3000)
    stateful = _run(ctx, "stateful", "stateful", max(examples // 2, 20), max_time=900)
    revoke = _run(ctx, "revoke", "examples,coverage,fuzzing", 20, max_time=300, only_revoke=True)
    total = stateless["requests"] + stateful["requests"] + revoke["requests"]
    return {
        "requests_total": total,
        "5xx": stateless["5xx"] + stateful["5xx"] + revoke["5xx"],
        "failed_checks": sum(
            sum(run["failures"].values()) for run in (stateless, stateful, revoke)
        ),
        "stateless": stateless,
        "stateful": stateful,
        "revoke": revoke,
        "examples_per_operation": examples,
        "checks": CHECKS.split(","),
        "user": ctx.username + " (Finance)",
    }
