"""The package: its public API, and its purity (only the standard library, :mod:`app.domain.errors` and
:mod:`app.domain.limits`, and no module reaching into another's private names)."""

from __future__ import annotations

import ast
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from app.domain import limits, lmsr
from app.domain.lmsr import SHARE_QUANTUM

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "app" / "domain" / "lmsr"
MODULES = sorted(PACKAGE.glob("*.py"))
SUBMODULES = {f"app.domain.lmsr.{path.stem}" for path in MODULES if path.stem != "__init__"}
ALLOWED = {"app.domain.errors", "app.domain.limits", *SUBMODULES}

PUBLIC = {
    "SHARE_QUANTUM",
    "MarketState",
    "TradeResult",
    "buy",
    "cancellation_refunds",
    "cost",
    "new_market",
    "points_for_shares",
    "prices",
    "quote_buy",
    "quote_sell",
    "required_pool",
    "resolution_payouts",
    "scale_to_fit",
    "sell",
    "subsidize",
    "weighted_payouts",
}


def test_constants() -> None:
    assert Decimal("0.000001") == SHARE_QUANTUM and str(SHARE_QUANTUM) == "0.000001"
    assert Decimal(1).scaleb(-limits.SHARE_PLACES) == SHARE_QUANTUM
    assert (limits.OUTCOMES.low, limits.OUTCOMES.high) == (2, 10)
    assert lmsr.buy is lmsr.quote_buy and lmsr.sell is lmsr.quote_sell


def test_the_public_api() -> None:
    assert set(lmsr.__all__) == PUBLIC
    assert all(hasattr(lmsr, name) for name in PUBLIC)
    # Each bound has one home, app.domain.limits: the market maker keeps no copy of its own.
    for gone in ("MIN_OUTCOMES", "MAX_OUTCOMES", "MAX_LIQUIDITY", "MAX_TRADE_POINTS", "MAX_SHARES"):
        assert not hasattr(lmsr, gone), gone


def test_the_package_has_its_modules() -> None:
    assert {path.stem for path in MODULES} >= {"__init__", "numerics", "state", "trading", "settlement"}


# -- purity -----------------------------------------------------------------------------------------

FORBIDDEN = (
    "starlette",
    "sqlalchemy",
    "sqlmodel",
    "asyncpg",
    "aiosqlite",
    "httpx",
    "nacl",
    "discord_interactions",
    "redis",
    "pydantic",
    "app.services",
    "app.persistence",
    "app.discord",
    "models",
    "handlers",
)


def test_importing_lmsr_pulls_in_nothing_but_the_stdlib_errors_and_limits() -> None:
    code = "import sys, app.domain.lmsr; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    modules = out.stdout.split()
    assert "app.domain.lmsr" in modules
    assert set(modules) >= SUBMODULES  # every module of the package is imported, and checked here
    leaked = [m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert leaked == []
    ours = {m for m in modules if m.split(".")[0] == "app"}
    assert ours <= {"app", "app.domain", "app.domain.lmsr", "app.domain.errors", "app.domain.limits", *SUBMODULES}


def test_lmsr_imports_only_stdlib_errors_and_limits() -> None:
    for path in MODULES:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path.name}: no relative imports"
                imported.add(node.module or "")
        for name in imported - ALLOWED:
            assert name.split(".")[0] in sys.stdlib_module_names, f"{path.name}: {name}"
        assert "float(" not in text, path.name


def test_no_module_uses_another_modules_private_names() -> None:
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app."):
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                assert private == [], f"{path.name} imports {private} from {node.module}"
            elif isinstance(node, ast.Attribute):
                dunder = node.attr.startswith("__") and node.attr.endswith("__")
                assert dunder or not node.attr.startswith("_"), f"{path.name}:{node.lineno} uses .{node.attr}"
