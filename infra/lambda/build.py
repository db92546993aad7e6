#!/usr/bin/env python3.12
"""Build Hunch's AWS Lambda deployment package (one zip for every function), without Docker.

Run by the Serverless hook in `infra/lambda/serverless-plugin.js` before Serverless would zip anything
(`package.artifact` in serverless.yml points at the zip this writes), or by hand:

    python3.12 infra/lambda/build.py --arch arm64 --output build/lambda/hunch-arm64.zip

What it does, and why:

1. Dependencies: `pip install --target` from `requirements.txt` (exact pins) with `--only-binary=:all:`
   and explicit wheel tags for the Lambda runtime: CPython 3.12 (`cp312`/`abi3`) on Amazon Linux 2023,
   i.e. glibc 2.34, on the chosen architecture. pip picks the aarch64 (or x86_64) manylinux wheels no
   matter which machine builds, so no Docker image and no compiler are needed; a package that has no
   such wheel fails the build loudly instead of being compiled for the wrong machine.
   (serverless-python-requirements with `dockerizePip: false` runs a plain `pip install`, which gives
   wheels for the *build* machine: an x86_64 laptop would ship x86_64 `.so` files to an arm64 Lambda.)
2. Slim: drop what is never imported at run time in Lambda (tests folders, type stubs, C/Cython
   sources, console scripts, pip's RECORD bookkeeping, stale byte code). `*.dist-info/METADATA` stays,
   because `importlib.metadata.version()` is called at import time by some packages.
3. Byte code valid on arrival: `/var/task` is read-only, so a module without a usable `.pyc` is
   compiled from source at *every* cold start. We compile with the same minor version as the runtime
   (the `.pyc` magic number is fixed within 3.12.x) and `--invalidation-mode unchecked-hash`: the
   interpreter loads those files without comparing mtimes (zip extraction does not keep them reliably)
   and without hashing the source.
4. A schema snapshot: the tables' `MetaData`, pickled, at `models/schema.pickle` (`models/schema.py`), so a
   cold start loads the tables in milliseconds instead of building the SQLModel classes that declare them. It
   is written by a Python that can import the application (the project's `.venv`, or `HUNCH_SNAPSHOT_PYTHON`)
   with the SQLAlchemy that `requirements.txt` pins; without one the package still works, only colder.
5. Zip deterministically: sorted entries, fixed timestamps and modes, so the same inputs give the same
   bytes and CloudFormation only publishes a new Lambda version when something really changed.

Dependencies are cached in `build/lambda/deps/<key>` (key: requirements, architecture, this script),
so repeated packaging only re-copies the application code.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from dependencies import (
    ARCHES,
    REPO,
    RUNTIME_PYTHON,
    add_tree,
    build_dependencies,
    check_requirements,
    collect,
    compile_tree,
    fail,
    log,
    zip_info,
)

# What of the repository goes into the package. Everything else (tests, docs, bench, node_modules,
# .env files...) stays out because it is never listed here.
APP_PACKAGES = ("app", "handlers", "models")
APP_EXTRA_TREES = ("infra/migrations",)  # alembic scripts, found via app/persistence/migrations.py
ROOT_FILES = {"infra/lambda/hunch_ops.py": "hunch_ops.py"}  # extra Lambda entry points at the zip root


def _ignore_dev_files(directory: str, names: list[str]) -> set[str]:
    dev = (".pyc", ".pyo", ".pickle")  # a schema snapshot is written fresh for each package
    return {n for n in names if n == "__pycache__" or n.endswith(dev) or n.startswith(".")}


def write_schema_snapshot(stage: Path, requirements: Path) -> None:
    """`models/schema.pickle` in the staged application, when a Python with the pinned SQLAlchemy can write it."""
    python = os.environ.get("HUNCH_SNAPSHOT_PYTHON") or str(REPO / ".venv" / "bin" / "python")
    pinned = _pinned("sqlalchemy", requirements)
    skipped = "the tables are built from their classes at each cold start"
    try:
        snapshot = _snapshot(python)
    except (OSError, subprocess.SubprocessError) as error:
        log(f"no schema snapshot ({python}: {error}): {skipped}")
        return
    version = snapshot.partition(b"\n")[0].decode(errors="replace")
    if version != pinned:
        log(f"no schema snapshot ({python} has SQLAlchemy {version}, requirements pin {pinned}): {skipped}")
        return
    (stage / "models" / "schema.pickle").write_bytes(snapshot)


def _snapshot(python: str) -> bytes:
    """The snapshot's bytes, written the same way every time: a fixed hash seed, and no address randomisation where
    `setarch -R` is allowed (a container's seccomp profile may refuse it: then without)."""
    code = "import sys; from models.schema import snapshot_bytes; sys.stdout.buffer.write(snapshot_bytes())"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(REPO), "PYTHONHASHSEED": "0"}
    fixed = ["setarch", platform.machine(), "-R"] if shutil.which("setarch") and sys.platform == "linux" else []
    for prefix in [fixed, []] if fixed else [[]]:
        done = subprocess.run([*prefix, python, "-c", code], cwd=REPO, env=env, capture_output=True, timeout=120)
        if done.returncode == 0:
            return done.stdout
    raise subprocess.SubprocessError(done.stderr.decode(errors="replace")[-300:])


def _pinned(name: str, requirements: Path) -> str | None:
    """The version `requirements` pins `name` to (`Name==1.2`, any case, extras allowed)."""
    pattern = re.compile(rf"^{re.escape(name)}(\[[^\]]*\])?\s*==\s*([^\s;#]+)", re.IGNORECASE)
    for line in requirements.read_text().splitlines():
        found = pattern.match(line.strip())
        if found:
            return found.group(2)
    return None


def stage_application(stage: Path, requirements: Path) -> None:
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    for package in APP_PACKAGES:
        source = REPO / package
        if not (source / "__init__.py").exists():
            fail(f"application package {package}/ not found in {REPO}")
        shutil.copytree(source, stage / package, ignore=_ignore_dev_files)
    for tree in APP_EXTRA_TREES:
        if (REPO / tree).is_dir():
            shutil.copytree(REPO / tree, stage / tree, ignore=_ignore_dev_files)
    for extra, dest in ROOT_FILES.items():
        shutil.copy2(REPO / extra, stage / dest)
    write_schema_snapshot(stage, requirements)
    compile_tree(stage)


def write_zip(output: Path, deps_zip: Path, app: Path, manifest: dict[str, object]) -> tuple[int, int]:
    tmp = output.with_name(output.name + ".tmp")
    shutil.copyfile(deps_zip, tmp)
    app_files = collect(app)
    with zipfile.ZipFile(tmp, "a") as archive:
        names = set(archive.namelist())
        clashes = sorted(names & set(app_files))
        if clashes:
            fail(f"in both the application and a dependency: {clashes[:5]}")
        add_tree(archive, app_files)
        archive.writestr(zip_info("hunch_build.json"), json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        count = len(archive.namelist())
        uncompressed = sum(info.file_size for info in archive.infolist())
    tmp.replace(output)
    return count, uncompressed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(ARCHES), default="arm64", help="Lambda architecture")
    parser.add_argument("--requirements", type=Path, default=REPO / "requirements.txt")
    parser.add_argument("--output", type=Path, default=None, help="zip to write (default build/lambda/hunch-ARCH.zip)")
    parser.add_argument("--build-dir", type=Path, default=REPO / "build" / "lambda")
    args = parser.parse_args(argv)

    if sys.implementation.name != "cpython" or sys.version_info[:2] != RUNTIME_PYTHON:
        fail(
            f"run this with CPython {'.'.join(map(str, RUNTIME_PYTHON))} (the Lambda runtime's version) so the "
            f"byte code matches; this is {sys.implementation.name} {sys.version.split()[0]}. "
            "Set HUNCH_LAMBDA_PYTHON to a python3.12 interpreter."
        )
    requirements = args.requirements if args.requirements.is_absolute() else (Path.cwd() / args.requirements)
    if not requirements.exists():
        fail(f"{requirements} not found")
    unpinned = check_requirements(requirements)
    if unpinned:
        fail(f"requirements must be pinned exactly (==): {', '.join(unpinned)}")
    build_dir = args.build_dir if args.build_dir.is_absolute() else Path.cwd() / args.build_dir
    output = args.output or build_dir / f"hunch-{args.arch}.zip"
    output = output if output.is_absolute() else Path.cwd() / output
    output.parent.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    deps = build_dependencies(requirements, args.arch, build_dir / "deps")
    stage = build_dir / f"app-{args.arch}"
    stage_application(stage, requirements)
    manifest = {
        "architecture": args.arch,
        "python": ".".join(map(str, RUNTIME_PYTHON)),
        "pyc": "unchecked-hash",
        "packages": json.loads((deps / ".complete").read_text()),
    }
    count, uncompressed = write_zip(output, deps / "deps.zip", stage, manifest)
    size = output.stat().st_size
    log(
        f"wrote {output} ({size / 1e6:.1f} MB zipped, {uncompressed / 1e6:.1f} MB unzipped, "
        f"{count} files) in {time.monotonic() - started:.1f}s"
    )
    if size > 50 * 1024 * 1024 or uncompressed > 250 * 1024 * 1024:
        fail("the package is over Lambda's limits (50 MB zipped for direct upload, 250 MB unzipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
