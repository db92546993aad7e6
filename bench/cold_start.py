"""Cold start of the packaged Lambda artifact, measured with CPython 3.12 in fresh processes.

    .venv/bin/python bench/cold_start.py [--runs 7] [--zip PATH] [--rebuild] [--no-pyc] [--importtime] [--tracing]
        [--database postgresql://postgres@127.0.0.1:5432] [--no-balance]

Uses build/lambda/hunch-<this machine's arch>.zip (building it through `npx serverless package` when
missing or with --rebuild), unzips it into an empty folder and, for each run, starts a new
`python3.12 -S` with only PATH, PYTHONPATH=<folder> and the app's settings in the environment, then:

  import   - `import app.lambda_handler` (what Lambda's init phase does)
  ping     - the first signed PING through Mangum right after the import
  process  - the whole child process, interpreter start-up to exit (as seen from outside)

and prints median and min of each plus the zip size. The target is import + first PING under 1 s.

Then a real command: against a scratch database `hunch_coldstart` on `--database` (created and migrated by this
script, dropped afterwards), each fresh process imports the handler and answers a signed, Discord-shaped
`/balance` of a member it has never seen (the same payload shape as bench_bets.py):

  balance  - that first /balance, connection to Postgres included
  import+balance - the target: under 350 ms
Lambda's own figures differ (its CPU share depends on memory size; 1,024 MB is ~0.6 vCPU), but
relative changes show up here. --no-pyc measures the same package with its byte code removed
(Lambda cannot write byte code to /var/task, so that is what every cold start would cost without
the build's precompiled, unchecked-hash .pyc files). --tracing also runs each process with tracing on
(`OTEL_TRACES_EXPORTER=otlp`, `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` as the Lambda functions are
configured, exporting to a local OTLP/HTTP sink; the handler flushes the spans before it returns), alternating
with the runs without, and prints the median of the paired differences (`+tracing …`).
Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import http.server
import importlib.util
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
LAMBDA_DIR = REPO / "infra" / "lambda"
TARGET_SECONDS = 1.0
BALANCE_TARGET_SECONDS = 0.35
COLD_DB = "hunch_coldstart"
ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_python312() -> str:
    found: str | None = _load("hunch_invoke_local", LAMBDA_DIR / "invoke_local.py").find_python312()
    if not found:
        sys.exit("CPython 3.12 not found (python3.12 on PATH, pyenv, or HUNCH_LAMBDA_PYTHON)")
    return found


def build(python312: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_REGION="us-east-1",
        SLS_TELEMETRY_DISABLED="1",
        SLS_NOTIFICATIONS_MODE="off",
        HUNCH_LAMBDA_PYTHON=python312,
    )
    if not (REPO / "node_modules" / "serverless").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=REPO, check=True)
    with tempfile.TemporaryDirectory() as out:
        command = ["npx", "--no-install", "serverless", "package", "--package", out, f"--param=architecture={ARCH}"]
        subprocess.run(command, cwd=REPO, env=env, check=True)


def run_once(
    python312: str,
    task_root: Path,
    events: Path,
    work: Path,
    importtime: bool,
    no_pyc: bool,
    database_url: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, float]:
    result_path = work / "result.json"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(task_root),
        "DISCORD_PUBLIC_KEY": json.loads(events.with_suffix(".key").read_text()),
        "DISCORD_APPLICATION_ID": "123456789012345678",
        "HUNCH_ENV": "prod",
    } | (extra or {})
    if database_url:
        env["DATABASE_URL"] = database_url
    # -B for the no-pyc variant: Lambda could not write the byte code it compiles either.
    flags = ["-S", *(["-B"] if no_pyc else []), *(["-X", "importtime"] if importtime else [])]
    started = time.perf_counter()
    done = subprocess.run(
        [python312, *flags, str(LAMBDA_DIR / "invoke_local.py"), str(events), str(result_path)],
        cwd=task_root,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"the packaged handler failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    if importtime:
        rows = [line for line in done.stderr.splitlines() if line.startswith("import time:") and "|" in line]
        rows = [line for line in rows if line.split("|")[1].strip().isdigit()]
        rows.sort(key=lambda line: int(line.split("|")[1]), reverse=True)
        print("slowest imports (cumulative us):")
        for line in rows[:25]:
            print("  " + line[len("import time:") :].strip())
    report = json.loads(result_path.read_text())
    (name, first), *_ = report["results"].items()
    response = first["response"]
    if response["statusCode"] != 200 or (name == "balance" and "balance" not in response.get("body", "")):
        sys.exit(f"{name} answered {response['statusCode']}: {response.get('body', '')[:300]}")
    return {
        "import": report["import_seconds"],
        name: first["seconds"],
        f"import+{name}": report["import_seconds"] + first["seconds"],
        "process": elapsed,
    }


class _OtlpSink(http.server.BaseHTTPRequestHandler):
    """Accepts OTLP/HTTP exports and forgets them: the exporter's round trip is real, but local."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


def balance_body(user_id: str) -> bytes:
    """A `/balance` from `user_id`, in the captured guild command's shape (bench_bets.py's payloads)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_bets import PLAIN_MEMBER, Payloads, load_template

    template, _ = load_template(REPO.parent / "shared" / "discord" / "payloads")
    return Payloads(template).command(int(user_id) + 7, user_id, "balance", [], PLAIN_MEMBER)


def prepare_database(server: str) -> str:
    url = f"{server}/{COLD_DB}"
    for sql in (f"DROP DATABASE IF EXISTS {COLD_DB}", f"CREATE DATABASE {COLD_DB}"):
        subprocess.run(["psql", f"{server}/postgres", "-q", "-c", sql], check=True, capture_output=True)
    env = os.environ | {"DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=REPO, env=env, check=True, capture_output=True)
    return url


def measure(
    python312: str,
    zip_path: Path,
    runs: int,
    strip_pyc: bool,
    importtime: bool,
    database_url: str | None = None,
    tracing: bool = False,
) -> dict[str, list[float]]:
    nacl_signing = importlib.import_module("nacl.signing")
    invoke_local = _load("hunch_invoke_local", LAMBDA_DIR / "invoke_local.py")
    with tempfile.TemporaryDirectory(prefix="hunch-cold-") as tmp:
        work = Path(tmp)
        task_root = work / "task"
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(task_root)
        if strip_pyc:
            for cache in list(task_root.rglob("__pycache__")):
                shutil.rmtree(cache)
        samples: dict[str, list[float]] = {}
        for _ in range(runs):
            key = nacl_signing.SigningKey.generate()
            events = work / "events.json"
            if database_url:  # a member never seen before: their first /balance
                body = balance_body(str(300_000_000_000_000_000 + secrets.randbelow(10**15)))
                chosen = {"balance": invoke_local.signed_interaction_event(key, body)}
            else:
                chosen = invoke_local.build_events(key)
            events.write_text(json.dumps(chosen))
            events.with_suffix(".key").write_text(json.dumps(key.verify_key.encode().hex()))
            timing = run_once(python312, task_root, events, work, importtime and not samples, strip_pyc, database_url)
            for name, value in timing.items():
                samples.setdefault(name, []).append(value)
            if tracing:
                sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OtlpSink)
                threading.Thread(target=sink.serve_forever, daemon=True).start()
                traced_env = {
                    "OTEL_TRACES_EXPORTER": "otlp",
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                    "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink.server_port}",
                }
                try:
                    traced = run_once(python312, task_root, events, work, False, strip_pyc, database_url, traced_env)
                finally:
                    sink.shutdown()
                for name, value in traced.items():
                    samples.setdefault(f"traced {name}", []).append(value)
                    samples.setdefault(f"+tracing {name}", []).append(value - timing[name])
        return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--zip", type=Path, default=None, help="artifact to measure (default: build it / reuse it)")
    parser.add_argument("--rebuild", action="store_true", help="run `npx serverless package` first")
    parser.add_argument("--no-pyc", action="store_true", help="also measure without the precompiled byte code")
    parser.add_argument("--importtime", action="store_true", help="print the slowest imports of the first run")
    parser.add_argument("--tracing", action="store_true", help="also with tracing on, alternating (paired)")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432", help="Postgres server")
    parser.add_argument("--no-balance", action="store_true", help="skip the first /balance of a new member")
    args = parser.parse_args()

    if ARCH is None:
        sys.exit(f"no Lambda architecture matches this machine ({platform.machine()})")
    python312 = find_python312()
    zip_path = args.zip or REPO / "build" / "lambda" / f"hunch-{ARCH}.zip"
    if args.zip is None and (args.rebuild or not zip_path.exists()):
        build(python312)
    size = zip_path.stat().st_size
    with zipfile.ZipFile(zip_path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
        files = len(archive.infolist())

    print(f"artifact  {zip_path.relative_to(REPO) if zip_path.is_relative_to(REPO) else zip_path}")
    print(f"size      {size / 1e6:.1f} MB zipped, {unzipped / 1e6:.1f} MB unzipped, {files} files")
    print(f"python    {subprocess.run([python312, '-V'], capture_output=True, text=True).stdout.strip()}")
    variants = [("precompiled (as shipped)", False)] + ([("without .pyc", True)] if args.no_pyc else [])
    verdict = 0
    for label, strip_pyc in variants:
        samples = measure(
            python312, zip_path, args.runs, strip_pyc, args.importtime, tracing=args.tracing and not strip_pyc
        )
        print(f"\n{label}: {args.runs} fresh processes")
        print(f"  {'':12} {'median':>9} {'min':>9}")
        for name, values in samples.items():
            print(f"  {name:12} {statistics.median(values) * 1000:7.0f}ms {min(values) * 1000:7.0f}ms")
        if not strip_pyc:
            median = statistics.median(samples["import+ping"])
            ok = median < TARGET_SECONDS
            word = "under" if ok else "OVER"
            print(f"  import + first PING median {median:.3f}s: {word} the {TARGET_SECONDS:.0f}s target")
            verdict = 0 if ok else 1
    if not args.no_balance:
        url = prepare_database(args.database)
        try:
            samples = measure(python312, zip_path, args.runs, False, args.importtime, url)
        finally:
            command = ["psql", f"{args.database}/postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {COLD_DB}"]
            subprocess.run(command, check=False, capture_output=True)
        print(f"\nfirst /balance of a new member against Postgres: {args.runs} fresh processes")
        print(f"  {'':15} {'median':>9} {'min':>9}")
        for name, values in samples.items():
            print(f"  {name:15} {statistics.median(values) * 1000:7.0f}ms {min(values) * 1000:7.0f}ms")
        median = statistics.median(samples["import+balance"])
        ok = median < BALANCE_TARGET_SECONDS
        print(f"  import + first /balance median {median * 1000:.0f} ms: {'under' if ok else 'OVER'} the 350 ms target")
        verdict = verdict or (0 if ok else 1)
    return verdict


if __name__ == "__main__":
    sys.exit(main())
