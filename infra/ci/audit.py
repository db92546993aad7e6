"""`pip-audit` of the runtime pins, or a clean skip when the vulnerability service cannot answer.

pip-audit asks PyPI's JSON API for each pinned release's known vulnerabilities. Where that API is not
reachable (or a mirror answers without it), every package would be "skipped" and the audit would prove
nothing, so this probes one pinned release first and says plainly that it skipped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"


def _first_pin() -> tuple[str, str]:
    for raw in REQUIREMENTS.read_text().splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            return name.strip(), version.strip()
    raise SystemExit("requirements.txt pins nothing")


def service_answers() -> bool:
    name, version = _first_pin()
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/{version}/json", timeout=5) as response:
            return "vulnerabilities" in json.load(response)
    except Exception:
        return False


def main() -> int:
    if not service_answers():
        print("pip-audit skipped: the vulnerability service (PyPI's JSON API) cannot be reached from here")
        return 0
    command = ["pip-audit", "--requirement", str(REQUIREMENTS), "--no-deps", "--strict", "--progress-spinner", "off"]
    return subprocess.call([str(Path(sys.executable).parent / command[0]), *command[1:]])


if __name__ == "__main__":
    sys.exit(main())
