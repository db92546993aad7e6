"""The operator function (`infra/lambda/hunch_ops.py`): only the allowed commands, the app's own CLI."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

OPS = Path(__file__).resolve().parents[2] / "infra" / "lambda" / "hunch_ops.py"


@pytest.fixture
def ops() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hunch_ops", OPS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_event_commands_reach_the_cli_and_nothing_else_does(ops: ModuleType) -> None:
    assert ops.ALLOWED["events"]({"args": ["dead", "--json"]}) == ["events", "dead", "--json"]
    assert ops.ALLOWED["events"]({}) == ["events", "list"]
    refused = ops.run({"command": "events", "args": ["serve"]}, None)
    assert refused["ok"] is False and "list" in refused["error"]
    assert ops.run({"command": "shell"}, None)["ok"] is False
