"""Deploy check: package with the Serverless CLI offline, lint every CloudFormation template, and run the
packaged Lambda handler in a clean python3.12 against API Gateway (HTTP API, payload 2.0) events.

Packaging happens twice per session (module fixtures): the default configuration exactly as
`npx serverless package` produces it (arm64), and one for this machine's architecture with every
option switched on (canary, VPC from parameters, DATABASE_URL from a secret), whose zip is unzipped
and invoked. Dummy AWS credentials are set and real ones removed, so packaging succeeding proves it
needs no AWS call. Skips cleanly without node/npm or CPython 3.12. When node_modules is missing the
fixture runs `npm ci` (the npm registry is reachable on developer machines and in CI); a failing
`npm ci` fails the test rather than hiding a broken lockfile.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.monitoring.promql import documented_metrics

pytestmark = pytest.mark.deploy

REPO = Path(__file__).resolve().parents[2]
LAMBDA_DIR = REPO / "infra" / "lambda"
LAMBDA_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
HOST_ARCH = LAMBDA_ARCH.get(platform.machine().lower())
ELF_MACHINE = {"arm64": 183, "x86_64": 62}
SENTINEL_TOKEN = "sentinel-bot-token-must-never-reach-the-template"
OPTIONS = (
    "--param=canary=true",
    "--param=database=secret",
    "--param=vpc=params",
    "--param=subnetIds=subnet-0123456789abcdef0,subnet-0fedcba9876543210",
    "--param=securityGroupIds=sg-0123456789abcdef0",
    "--param=alarmEmail=ops@example.com",
    "--param=alarmHttpsEndpoint=https://alerts.example.com/hunch",
)
# The SLO's burn-rate windows on Lambda: each its own metric-math alarm (period in seconds, burn-rate factor).
SLO_PAGE_WINDOWS = {
    "SloBurn1hPageAlarm": (3600, 14.4),
    "SloBurn5mPageAlarm": (300, 14.4),
    "SloBurn6hPageAlarm": (21600, 6),
    "SloBurn30mPageAlarm": (1800, 6),
}
SLO_TICKET_WINDOWS = {"SloBurn1dTicketAlarm": (86400, 1), "SloBurn6hTicketAlarm": (21600, 1)}
# hunch_interactions_total's outcomes (README, Operations).
INTERACTION_OUTCOMES = ("ok", "user_error", "rate_limited", "error", "bad_request")
EMF_ALARMS = {
    "InteractionLatencyP99Alarm": "hunch_interaction_duration_ms",
    "OutboxLagAlarm": "hunch_outbox_lag_seconds",
    "DeadEventsAlarm": "hunch_events_dead_total",
    "DatabaseErrorsAlarm": "hunch_db_errors_total",
}


def cfn_lint_command() -> list[str]:
    if importlib.util.find_spec("cfnlint") is None:
        pytest.skip("cfn-lint is not installed (requirements-dev.txt)")
    return [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"]


def run_cfn_lint(*templates: Path) -> None:
    result = subprocess.run([*cfn_lint_command(), *map(str, templates)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, f"cfn-lint:\n{result.stdout}{result.stderr}"


def load_invoke_local() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hunch_invoke_local", LAMBDA_DIR / "invoke_local.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Packaged:
    directory: Path
    template: dict[str, Any]
    artifact: Path
    architecture: str

    @property
    def template_path(self) -> Path:
        return self.directory / "cloudformation-template-update-stack.json"

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}

    def function(self, logical_id: str) -> dict[str, Any]:
        properties: dict[str, Any] = self.template["Resources"][logical_id]["Properties"]
        return properties


@pytest.fixture(scope="module")
def python312() -> str:
    found: str | None = load_invoke_local().find_python312()
    if found is None:
        pytest.skip("CPython 3.12 not found (python3.12 on PATH, pyenv, or HUNCH_LAMBDA_PYTHON)")
    return found


@pytest.fixture(scope="module")
def serverless_env(python312: str) -> dict[str, str]:
    for tool in ("node", "npm", "npx"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found: the Serverless CLI needs Node.js")
    if not (REPO / "node_modules" / "serverless" / "package.json").exists():
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=REPO, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLS_", "SERVERLESS_"))}
    env.update(
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        SLS_TELEMETRY_DISABLED="1",
        SLS_NOTIFICATIONS_MODE="off",
        SLS_INTERACTIVE_SETUP_DISABLE="1",
        HUNCH_LAMBDA_PYTHON=python312,
        # Non-secret identity from the environment is allowed into the template; the bot token is not.
        DISCORD_PUBLIC_KEY="ab" * 32,
        DISCORD_APPLICATION_ID="123456789012345678",
        DISCORD_BOT_TOKEN=SENTINEL_TOKEN,
    )
    return env


def package(env: dict[str, str], out: Path, *args: str) -> Packaged:
    command = ["npx", "--no-install", "serverless", "package", "--package", str(out), *args]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-5000:]}{result.stderr[-5000:]}"
    template = json.loads((out / "cloudformation-template-update-stack.json").read_text())
    state = json.loads((out / "serverless-state.json").read_text())
    # serverless.yml's package.artifact: build/lambda/<name>; the state file keeps the name only.
    artifact = REPO / "build" / "lambda" / state["package"]["artifact"]
    assert artifact.is_file(), artifact
    architecture = state["service"]["provider"]["architecture"]
    return Packaged(out, template, artifact, architecture)


@pytest.fixture(scope="module")
def default_package(serverless_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    return package(serverless_env, tmp_path_factory.mktemp("sls-default"))


@pytest.fixture(scope="module")
def host_package(serverless_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    if HOST_ARCH is None:
        pytest.skip(f"no Lambda architecture matches this machine ({platform.machine()})")
    out = tmp_path_factory.mktemp("sls-host")
    return package(serverless_env, out, f"--param=architecture={HOST_ARCH}", *OPTIONS)


@pytest.fixture(scope="module")
def invoked(host_package: Packaged, python312: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Unzip the HTTP function's artifact into an empty folder and invoke it like Lambda does."""
    nacl_signing = pytest.importorskip("nacl.signing")
    work = tmp_path_factory.mktemp("invoke")
    task_root = work / "task"
    task_root.mkdir()
    with zipfile.ZipFile(host_package.artifact) as archive:
        archive.extractall(task_root)
    before = sorted(p.relative_to(task_root).as_posix() for p in task_root.rglob("*"))

    key = nacl_signing.SigningKey.generate()
    events_path, result_path = work / "events.json", work / "result.json"
    events_path.write_text(json.dumps(load_invoke_local().build_events(key)))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(task_root),
        "LAMBDA_TASK_ROOT": str(task_root),
        "DISCORD_PUBLIC_KEY": key.verify_key.encode().hex(),
        "DISCORD_APPLICATION_ID": "123456789012345678",
        "HUNCH_ENV": "prod",
    }
    result = subprocess.run(
        [python312, "-S", str(LAMBDA_DIR / "invoke_local.py"), str(events_path), str(result_path)],
        cwd=task_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"handler failed:\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
    report: dict[str, Any] = json.loads(result_path.read_text())
    report["written"] = sorted(set(p.relative_to(task_root).as_posix() for p in task_root.rglob("*")) - set(before))
    report["task_root"] = str(task_root)
    return report


# --- the template -------------------------------------------------------------------------------


def test_default_template_shape(default_package: Packaged) -> None:
    functions = default_package.resources("AWS::Lambda::Function")
    assert set(functions) == {
        "HttpLambdaFunction",
        "SchedulerLambdaFunction",
        "WorkerLambdaFunction",
        "OpsLambdaFunction",
    }
    handlers = {k: v["Properties"]["Handler"] for k, v in functions.items()}
    assert handlers["HttpLambdaFunction"] == "app.lambda_handler.handler"
    assert handlers["SchedulerLambdaFunction"] == "app.lambda_handler.scheduled"
    assert handlers["WorkerLambdaFunction"] == "app.lambda_handler.worker"
    for props in (f["Properties"] for f in functions.values()):
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
    assert default_package.function("HttpLambdaFunction")["MemorySize"] == 1024

    routes = {r["Properties"]["RouteKey"] for r in default_package.resources("AWS::ApiGatewayV2::Route").values()}
    assert routes == {"POST /interactions", "GET /healthz"}
    stage = default_package.resources("AWS::ApiGatewayV2::Stage")["HttpApiStage"]["Properties"]
    assert "$context.status" in stage["AccessLogSettings"]["Format"]
    rules = default_package.resources("AWS::Events::Rule")
    assert [r["Properties"]["ScheduleExpression"] for r in rules.values()] == ["rate(1 minute)"] * 2

    for group in default_package.resources("AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == 30
    alarms = set(default_package.resources("AWS::CloudWatch::Alarm"))
    assert alarms >= {
        "HttpApi5xxRateAlarm",
        "InteractionUnauthorizedRatioAlarm",
        "HttpApiLatencyP99Alarm",
        "HttpFunctionDurationP99Alarm",
        "HttpFunctionErrorsAlarm",
        "SchedulerErrorsAlarm",
        "FunctionThrottlesAlarm",
        "WorkerErrorsAlarm",
        "WorkerDeadLettersAlarm",
        "WorkerQueueAgeAlarm",
        *SLO_PAGE_WINDOWS,
        *SLO_TICKET_WINDOWS,
        *EMF_ALARMS,
    }
    # Canary, provisioned concurrency and SnapStart are off by default.
    assert not default_package.resources("AWS::CodeDeploy::DeploymentGroup")
    assert not default_package.resources("AWS::Lambda::Alias")
    assert "SnapStart" not in default_package.function("HttpLambdaFunction")


def test_the_worker_has_its_queue_dead_letter_queue_and_nudges(default_package: Packaged) -> None:
    queues = default_package.resources("AWS::SQS::Queue")
    assert set(queues) == {"WorkerQueue", "WorkerDeadLetterQueue"}
    worker_queue = queues["WorkerQueue"]["Properties"]
    assert worker_queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["WorkerDeadLetterQueue", "Arn"]}
    worker = default_package.function("WorkerLambdaFunction")
    assert worker_queue["VisibilityTimeout"] >= 6 * worker["Timeout"]
    [mapping] = default_package.resources("AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["WorkerQueue", "Arn"]}
    assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 2}
    variables = default_package.function("HttpLambdaFunction")["Environment"]["Variables"]
    assert variables["WORKER_QUEUE_URL"] == {"Ref": "WorkerQueue"} and variables["WORKER_IN_PROCESS"] == "false"
    assert variables["DISCORD_API_BASE_URL"] == "https://discord.com/api/v10"
    policies = json.dumps(default_package.resources("AWS::IAM::Role"))
    assert '"sqs:SendMessage"' in policies
    targets = {json.dumps(r["Properties"]["Targets"]) for r in default_package.resources("AWS::Events::Rule").values()}
    assert any("WorkerLambdaFunction" in t for t in targets), "the worker has no scheduled sweep"


def test_no_secret_in_the_template(default_package: Packaged) -> None:
    raw = default_package.template_path.read_text()
    assert SENTINEL_TOKEN not in raw, "DISCORD_BOT_TOKEN from the environment leaked into the template"
    variables = default_package.function("HttpLambdaFunction")["Environment"]["Variables"]
    assert variables["DISCORD_BOT_TOKEN"].startswith("{{resolve:secretsmanager:")
    assert variables["DISCORD_PUBLIC_KEY"] == "ab" * 32  # not secret: the environment fallback applies
    database_url = json.dumps(variables["DATABASE_URL"])
    assert "{{resolve:secretsmanager:" in database_url and "Fn::ImportValue" in database_url
    assert variables["DATABASE_POOL_MODE"] == "nullpool"


def test_default_vpc_comes_from_the_data_tier(default_package: Packaged) -> None:
    vpc = json.dumps(default_package.function("HttpLambdaFunction")["VpcConfig"])
    assert "hunch-data-dev-PrivateSubnetIds" in vpc and "hunch-data-dev-ClientSecurityGroupId" in vpc


def test_options_template(host_package: Packaged) -> None:
    http = host_package.function("HttpLambdaFunction")
    assert http["Architectures"] == [host_package.architecture]
    assert http["VpcConfig"]["SubnetIds"] == {"Fn::Split": [",", "subnet-0123456789abcdef0,subnet-0fedcba9876543210"]}
    assert http["Environment"]["Variables"]["DATABASE_URL"] == "{{resolve:secretsmanager:hunch/dev/database-url}}"
    assert set(host_package.resources("AWS::CodeDeploy::DeploymentGroup")) == {"HttpLambdaFunctionDeploymentGroup"}
    assert set(host_package.resources("AWS::Lambda::Alias")) == {"HttpLambdaFunctionAliasLive"}
    protocols = {s["Properties"]["Protocol"] for s in host_package.resources("AWS::SNS::Subscription").values()}
    assert protocols == {"email", "https"}


def alarm_periods_fit_cloudwatch_limits(properties: dict[str, Any]) -> bool:
    """A period under an hour may span at most a day of evaluation, a longer one at most seven days."""
    periods = [m["MetricStat"]["Period"] for m in properties.get("Metrics", []) if "MetricStat" in m]
    period = properties.get("Period") or max(periods)
    limit = 86400 if period < 3600 else 7 * 86400
    return bool(period % 60 == 0 and period * properties["EvaluationPeriods"] <= limit)


def test_slo_burn_rate_windows_are_metric_math_on_the_emf_metrics(default_package: Packaged) -> None:
    alarms = default_package.resources("AWS::CloudWatch::Alarm")
    for logical_id, (period, factor) in {**SLO_PAGE_WINDOWS, **SLO_TICKET_WINDOWS}.items():
        properties = alarms[logical_id]["Properties"]
        assert (properties["Threshold"], properties["ComparisonOperator"]) == (factor, "GreaterThanThreshold")
        assert properties["EvaluationPeriods"] == 1 and properties["TreatMissingData"] == "notBreaching"
        assert alarm_periods_fit_cloudwatch_limits(properties), logical_id
        # Noisy on their own: only the composite alarms notify.
        assert not properties.get("AlarmActions") and not properties.get("OKActions"), logical_id
        metrics = {m["Id"]: m for m in properties["Metrics"]}
        assert [i for i, m in metrics.items() if m.get("ReturnData", True)] == ["burn"]
        # A page's long window also needs 5 failed interactions (as the Prometheus rules do).
        guard = " AND FILL(errors, 0) >= 5" if logical_id in {"SloBurn1hPageAlarm", "SloBurn6hPageAlarm"} else ""
        assert metrics["burn"]["Expression"] == f"IF(valid > 0{guard}, FILL(errors, 0) / valid / 0.001, 0)"
        # Valid events are the outcomes other than bad_request, each from the ["service", "outcome"] set.
        assert metrics["valid"]["Expression"] == (
            "FILL(ok, 0) + FILL(usererrors, 0) + FILL(ratelimited, 0) + FILL(errors, 0)"
        )
        outcomes = {}
        for metric_id in ("ok", "usererrors", "ratelimited", "errors"):
            stat = metrics[metric_id]["MetricStat"]
            assert (stat["Period"], stat["Stat"]) == (period, "Sum")
            metric = stat["Metric"]
            assert (metric["Namespace"], metric["MetricName"]) == ("Hunch", "hunch_interactions_total")
            dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            assert dimensions.pop("service") == "hunch"
            outcomes[metric_id] = dimensions.pop("outcome")
            assert not dimensions
        assert outcomes == {"ok": "ok", "usererrors": "user_error", "ratelimited": "rate_limited", "errors": "error"}
        assert set(outcomes.values()) == set(INTERACTION_OUTCOMES) - {"bad_request"}


def test_composite_alarms_page_and_ticket_and_the_page_suppresses_the_ticket(default_package: Packaged) -> None:
    composites = default_package.resources("AWS::CloudWatch::CompositeAlarm")
    assert set(composites) == {"SloPageAlarm", "SloTicketAlarm"}
    page, ticket = composites["SloPageAlarm"]["Properties"], composites["SloTicketAlarm"]["Properties"]
    page_rule, ticket_rule = page["AlarmRule"]["Fn::Sub"], ticket["AlarmRule"]["Fn::Sub"]
    assert page_rule == (
        '(ALARM("${SloBurn1hPageAlarm}") AND ALARM("${SloBurn5mPageAlarm}")) OR '
        '(ALARM("${SloBurn6hPageAlarm}") AND ALARM("${SloBurn30mPageAlarm}"))'
    )
    assert ticket_rule == 'ALARM("${SloBurn1dTicketAlarm}") AND ALARM("${SloBurn6hTicketAlarm}")'
    assert ticket["ActionsSuppressor"] == {"Fn::GetAtt": ["SloPageAlarm", "Arn"]}
    assert ticket["ActionsSuppressorWaitPeriod"] > 0 and ticket["ActionsSuppressorExtensionPeriod"] > 0
    for composite in (page, ticket):
        assert composite["AlarmActions"] == composite["OKActions"] == [{"Ref": "AlarmTopic"}]


def test_component_alarms_on_the_emf_metrics_use_the_documented_names(default_package: Packaged) -> None:
    alarms = default_package.resources("AWS::CloudWatch::Alarm")
    documented = set(documented_metrics()) | {"hunch_interaction_duration_ms"}
    for logical_id, metric_name in EMF_ALARMS.items():
        properties = alarms[logical_id]["Properties"]
        assert (properties["Namespace"], properties["MetricName"]) == ("Hunch", metric_name)
        assert properties["Dimensions"] == [{"Name": "service", "Value": "hunch"}]
        assert alarm_periods_fit_cloudwatch_limits(properties), logical_id
    on_emf = set()
    for alarm in alarms.values():
        properties = alarm["Properties"]
        metrics = [m["MetricStat"]["Metric"] for m in properties.get("Metrics", []) if "MetricStat" in m]
        for metric in metrics or [properties]:
            if metric.get("Namespace") == "Hunch":
                on_emf.add(metric["MetricName"])
    assert on_emf == set(EMF_ALARMS.values()) | {"hunch_interactions_total"}
    assert on_emf <= documented
    assert alarms["InteractionLatencyP99Alarm"]["Properties"]["ExtendedStatistic"] == "p99"
    assert alarms["InteractionLatencyP99Alarm"]["Properties"]["Threshold"] == 2500


def test_the_readme_lists_the_alarms_that_notify(default_package: Packaged) -> None:
    readme = (REPO / "README.md").read_text()
    operations = readme[readme.index("## Operations") :]
    for logical_id in ("SloPageAlarm", "SloTicketAlarm", *EMF_ALARMS):
        resource = {
            **default_package.resources("AWS::CloudWatch::Alarm"),
            **default_package.resources("AWS::CloudWatch::CompositeAlarm"),
        }[logical_id]
        name = resource["Properties"]["AlarmName"].removeprefix("hunch-dev-")
        assert f"| `{name}`" in operations, f"{name} is missing from the README's Lambda alarms"


def test_every_alarm_notifies_only_the_one_topic(default_package: Packaged) -> None:
    everything = {
        **default_package.resources("AWS::CloudWatch::Alarm"),
        **default_package.resources("AWS::CloudWatch::CompositeAlarm"),
    }
    silent = set(SLO_PAGE_WINDOWS) | set(SLO_TICKET_WINDOWS)
    for logical_id, alarm in everything.items():
        properties = alarm["Properties"]
        actions = [*properties.get("AlarmActions", []), *properties.get("OKActions", [])]
        if logical_id in silent:
            assert actions == [], logical_id
        else:
            assert actions and all(action == {"Ref": "AlarmTopic"} for action in actions), logical_id


def test_cfn_lint_generated_templates(default_package: Packaged, host_package: Packaged) -> None:
    run_cfn_lint(default_package.template_path, host_package.template_path)


def test_cfn_lint_infra_templates() -> None:
    templates = sorted((REPO / "infra" / "cloudformation").glob("*.yml"))
    assert templates, "infra/cloudformation has no templates"
    run_cfn_lint(*templates)


# --- the artifact -------------------------------------------------------------------------------


def test_artifact_is_lean_and_precompiled(default_package: Packaged, python312: str) -> None:
    artifact = default_package.artifact
    assert artifact.stat().st_size < 50 * 1024 * 1024  # direct-upload limit
    magic = subprocess.run(
        [python312, "-c", "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with zipfile.ZipFile(artifact) as archive:
        infos = archive.infolist()
        names = {i.filename for i in infos}
        assert sum(i.file_size for i in infos) < 250 * 1024 * 1024  # unzipped limit
        assert {"app/lambda_handler.py", "hunch_ops.py", "infra/migrations/env.py", "hunch_build.json"} <= names
        for forbidden in ("tests/", "node_modules/", "bin/", ".serverless/", "uvicorn/", "uvloop/"):
            assert not any(n.startswith(forbidden) for n in names), forbidden
        assert not [n for n in names if n.endswith((".pyi", ".pyx", ".env")) or "/tests/" in n]

        sources = [n for n in names if n.endswith(".py") and not n.startswith("infra/migrations/versions/")]
        for source in sources:
            folder, _, filename = source.rpartition("/")
            pyc = f"{folder + '/' if folder else ''}__pycache__/{filename[:-3]}.cpython-312.pyc"
            assert pyc in names, f"{source} has no byte code"
        header = archive.read("app/__pycache__/lambda_handler.cpython-312.pyc")[:8]
        assert header[:4].hex() == magic, "byte code compiled by another Python than 3.12"
        assert int.from_bytes(header[4:8], "little") == 0b01, "pyc must be unchecked-hash (flags=1)"

        expected = ELF_MACHINE[default_package.architecture]
        for info in infos:
            if ".so" in info.filename:
                elf = archive.read(info.filename)[:20]
                if elf[:4] == b"\x7fELF":
                    assert int.from_bytes(elf[18:20], "little") == expected, info.filename
        mode = infos[0].external_attr >> 16
        assert mode & 0o444 == 0o444, "files must be world-readable for Lambda"


# --- the packaged handler -----------------------------------------------------------------------


def test_packaged_handler_answers_signed_ping(invoked: dict[str, Any]) -> None:
    results = invoked["results"]
    ping = results["ping"]["response"]
    assert ping["statusCode"] == 200
    assert json.loads(ping["body"]) == {"type": 1}
    assert json.loads(results["ping_base64"]["response"]["body"]) == {"type": 1}
    assert results["bad_signature"]["response"]["statusCode"] == 401
    assert results["healthz"]["response"]["statusCode"] == 200
    assert invoked["scheduled_is_callable"] and invoked["worker_is_callable"]
    assert not invoked["site_imported"], "site must be disabled: every import comes from the package"


def test_packaged_handler_writes_nothing(invoked: dict[str, Any]) -> None:
    # /var/task is read-only on Lambda: no byte code to (re)write, no SQLite file on the PING path.
    assert invoked["written"] == []


def test_ping_path_stays_light(invoked: dict[str, Any]) -> None:
    print(f"\nimport {invoked['import_seconds']:.3f}s, first PING {invoked['results']['ping']['seconds']:.3f}s")
    assert invoked["heavy_modules_after_requests"] == [], "the PING path imported the ORM or a database driver"


def test_every_extension_module_loads(invoked: dict[str, Any], python312: str) -> None:
    """The build strips debug info from shared objects; every one must still import."""
    task_root = Path(invoked["task_root"])
    modules = []
    for so in task_root.rglob("*.so"):
        relative = so.relative_to(task_root)
        if any(part.endswith((".libs", ".dist-info")) for part in relative.parts):
            continue
        name = relative.name.split(".", 1)[0]
        modules.append(".".join((*relative.parts[:-1], name)))
    assert modules
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    result = subprocess.run(
        [python312, "-S", "-c", code, *sorted(modules)],
        cwd=task_root,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(task_root)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_tables_load_from_the_schema_snapshot_without_building_their_classes(
    invoked: dict[str, Any], python312: str
) -> None:
    """The build writes `models/schema.pickle`; under the runtime's Python it loads, and the whole persistence layer
    imports without building a SQLModel class (`models.tables` and sqlmodel stay unimported, so nothing mixes the
    snapshot's tables with the declared ones)."""
    task_root = Path(invoked["task_root"])
    assert (task_root / "models" / "schema.pickle").is_file()
    code = (
        "import json, sys\nimport models.schema as s\nimport app.persistence.unit_of_work, app.ratelimit.sql\n"
        "print(json.dumps({'tables': len(s.metadata.tables), 'heavy': sorted(m for m in ('sqlmodel', 'models.tables')"
        " if m in sys.modules)}))"
    )
    result = subprocess.run(
        [python312, "-S", "-c", code],
        cwd=task_root,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(task_root)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout)
    assert loaded == {"tables": 21, "heavy": []}


def test_a_first_balance_on_postgres_imports_no_orm(invoked: dict[str, Any], python312: str) -> None:
    """A cold start's first real command, from the artifact under the runtime's Python against a migrated Postgres:
    the engine is Hunch's own (`app.persistence.engine`), because `sqlalchemy.ext.asyncio` imports the ORM, 42-45 ms
    of a Lambda's first request that nothing here uses."""
    import asyncio
    import uuid

    from tests.conftest import PG_URL
    from tests.support.discord_payloads import User, slash_command
    from tests.support.signing import Signer

    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set (needs a real Postgres)")
    asyncpg = pytest.importorskip("asyncpg")
    nacl_signing = pytest.importorskip("nacl.signing")
    signer = Signer(nacl_signing.SigningKey.generate())
    body = signer.body(slash_command(User("410212090289192960", "alice", "Alice"), "balance"))
    event = load_invoke_local().http_api_event("POST", "/interactions", body, signer.headers(body))
    server = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    name = f"hunch_cold_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    code = (
        "import json, sys\nimport app.lambda_handler as lh\n"
        "answer = lh.handler(json.loads(sys.argv[1]), None)\n"
        "print(json.dumps({'status': answer['statusCode'], 'body': answer['body'], 'modules': sorted(m for m in"
        " sys.modules if m.startswith(('sqlalchemy.orm', 'sqlalchemy.ext', 'sqlmodel', 'models.tables')))}))"
    )
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = server.rsplit("/", 1)[0] + f"/{name}"
        migrate = [sys.executable, "-m", "app", "migrate"]
        subprocess.run(migrate, cwd=REPO, env=os.environ | {"DATABASE_URL": url}, check=True, capture_output=True)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": invoked["task_root"],
            "DATABASE_URL": url,
            "DISCORD_PUBLIC_KEY": signer.public_key_hex,
            "DISCORD_APPLICATION_ID": "123456789012345678",
            "HUNCH_ENV": "prod",
        }
        done = subprocess.run(
            [python312, "-S", "-c", code, json.dumps(event)],
            cwd=invoked["task_root"],
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200 and "balance" in answer["body"].lower(), answer
    assert answer["modules"] == []


# --- the container files (static: no Docker engine needed) --------------------------------------


def test_dockerfile_rules() -> None:
    text = (REPO / "infra" / "Dockerfile").read_text()
    instructions = [line.split(None, 1) for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    keywords = [parts[0] for parts in instructions]
    assert keywords.count("FROM") >= 2, "multi-stage build"
    user = [parts[1] for parts in instructions if parts[0] == "USER"]
    assert user and not user[-1].startswith(("root", "0")), "runs as a non-root user"
    healthcheck = text[text.index("HEALTHCHECK") :].split("\n\n")[0]
    assert "/healthz" in healthcheck and "python" in healthcheck and "curl" not in healthcheck
    entrypoint = next(p[1] for p in instructions if p[0] == "CMD" and "serve" in p[1])
    assert "migrate" not in entrypoint, "migrations run as their own command, not at start-up"


def test_compose_services() -> None:
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((REPO / "infra" / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "app", "scheduler"} <= set(services)
    assert services["migrate"]["command"] == ["migrate"]
    for name in ("app", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["scheduler"]["command"][0] == "scheduler"
    assert services["app"]["environment"]["DATABASE_URL"].startswith("postgresql://")
