"""Prometheus's and Alertmanager's command-line tools (Debian's `prometheus` and `prometheus-alertmanager`
packages install them): each test that needs one skips cleanly when it is absent."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.monitoring.promql import REPO


def tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(f"{names[0]} is not installed (apt-get install prometheus prometheus-alertmanager)")


def run(command: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


def check(command: list[str], cwd: Path = REPO) -> str:
    result = run(command, cwd)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"
    return result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
