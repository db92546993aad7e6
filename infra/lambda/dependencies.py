"""The Lambda package's dependencies: installed for the runtime's platform from wheels only, slimmed, stripped,
byte-compiled, checked for foreign binaries, and cached by requirements, architecture and this file
(steps 1 to 3 of `build.py`)."""

from __future__ import annotations

import compileall
import hashlib
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNTIME_PYTHON = (3, 12)  # must match `provider.runtime` in serverless.yml
RUNTIME_GLIBC_MINOR = 34  # python3.12 runs on Amazon Linux 2023: glibc 2.34
OLDEST_MANYLINUX_MINOR = 17  # manylinux2014 == manylinux_2_17
ARCHES = {"arm64": "aarch64", "x86_64": "x86_64"}
ELF_MACHINE = {"aarch64": 183, "x86_64": 62}

# Slimming rules for the installed dependencies.
DROP_DIR_NAMES = {"__pycache__", "tests", "test"}
DROP_SUFFIXES = (".pyc", ".pyo", ".pyi", ".pyx", ".pxd", ".pxi", ".c", ".h", ".cpp", ".hpp")
DROP_DIST_INFO_FILES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
DROP_TOP_LEVEL = {"bin", "include"}  # console scripts for the build machine's python; C headers
# Runtime pins that only the container needs (the ASGI server, the Prometheus exporter); Lambda talks to Mangum
# and writes its metrics as EMF instead. The full
# requirements file is also passed as a constraint, so should another package ever require one of these,
# pip installs it anyway, at the same pin: leaving one out here can never break an import.
LAMBDA_EXCLUDE = {"uvicorn", "uvloop", "httptools", "click", "prometheus-client"}

BUILD_VERSION = "1"  # bump to invalidate every dependency cache

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def log(message: str) -> None:
    print(f"[hunch-build] {message}", flush=True)


def fail(message: str) -> None:
    print(f"[hunch-build] ERROR: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def platform_tags(arch: str) -> list[str]:
    machine = ARCHES[arch]
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(RUNTIME_GLIBC_MINOR, OLDEST_MANYLINUX_MINOR - 1, -1)]
    tags.append(f"manylinux2014_{machine}")
    if machine == "x86_64":
        tags += ["manylinux2010_x86_64", "manylinux1_x86_64"]
    return tags


def check_requirements(requirements: Path) -> list[str]:
    """Every requirement must be pinned with `==` so the package is reproducible."""
    unpinned = []
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        spec = line.split(";", 1)[0].strip()
        if "==" not in spec or any(op in spec for op in (">", "<", "~=", "!=")):
            unpinned.append(spec)
    return unpinned


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lambda_requirements(requirements: Path, out: Path) -> Path:
    """`requirements` without LAMBDA_EXCLUDE (and with `-r`/`-c` paths made absolute)."""
    lines = []
    for raw in requirements.read_text().splitlines():
        line = raw.strip()
        if line.startswith(("-r ", "-c ", "--requirement ", "--constraint ")):
            flag, _, path = line.partition(" ")
            target = Path(path.strip())
            lines.append(f"{flag} {target if target.is_absolute() else (requirements.parent / target).resolve()}")
            continue
        name = re.split(r"[\s\[=<>!~;@]", line.split("#", 1)[0].strip(), maxsplit=1)[0]
        if name and not line.startswith("-") and _normalise(name) in LAMBDA_EXCLUDE:
            continue
        lines.append(raw)
    out.write_text("\n".join(lines) + "\n")
    return out


def cache_key(requirements: Path, arch: str) -> str:
    digest = hashlib.sha256()
    digest.update(BUILD_VERSION.encode())
    digest.update(Path(__file__).read_bytes())
    digest.update(requirements.read_bytes())
    digest.update(arch.encode())
    digest.update(".".join(map(str, RUNTIME_PYTHON)).encode())
    return digest.hexdigest()[:16]


def pip_install(requirements: Path, constraints: Path, arch: str, target: Path) -> None:
    version = "".join(map(str, RUNTIME_PYTHON))
    cmd = [
        sys.executable, "-m", "pip", "install",
        "--requirement", str(requirements),
        "--constraint", str(constraints),
        "--target", str(target),
        "--implementation", "cp",
        "--python-version", ".".join(map(str, RUNTIME_PYTHON)),
        "--abi", f"cp{version}", "--abi", "abi3", "--abi", "none",
        "--only-binary=:all:",
        "--no-compile",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar", "off",
        "--quiet",
    ]  # fmt: skip
    for tag in platform_tags(arch):
        cmd += ["--platform", tag]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "PIP_REQUIRE_VIRTUALENV"}
    log(f"pip install {requirements.name} for cp{version} manylinux {ARCHES[arch]} (wheels only)")
    result = subprocess.run(cmd, env=env)
    if result.returncode != 0:
        fail("pip could not install every requirement as a Lambda-compatible wheel (see pip's output above)")


def slim(site: Path) -> None:
    removed = 0
    for name in DROP_TOP_LEVEL:
        if (site / name).is_dir():
            shutil.rmtree(site / name)
    top_tests = [p for p in site.iterdir() if p.is_dir() and p.name in {"tests", "test", "docs"}]
    for path in top_tests:  # stray top-level folders that some wheels ship by mistake
        shutil.rmtree(path)
    for dirpath, dirnames, filenames in os.walk(site, topdown=True):
        here = Path(dirpath)
        keep = []
        for name in dirnames:
            if name in DROP_DIR_NAMES:
                shutil.rmtree(here / name)
                removed += 1
            else:
                keep.append(name)
        dirnames[:] = keep
        in_dist_info = here.name.endswith(".dist-info")
        for name in filenames:
            if name.endswith(DROP_SUFFIXES) or (in_dist_info and name in DROP_DIST_INFO_FILES):
                (here / name).unlink()
                removed += 1
    log(f"slimmed dependencies: {removed} files/folders dropped")


def find_strip() -> str | None:
    """A `strip` that understands the target's ELF: llvm-strip handles every architecture."""
    explicit = os.environ.get("HUNCH_STRIP")
    if explicit:
        return explicit if explicit.lower() not in {"0", "no", "none", "off"} else None
    for name in ("llvm-strip", *(f"llvm-strip-{v}" for v in range(30, 10, -1))):
        found = shutil.which(name)
        if found:
            return found
    return None


def strip_debug_info(site: Path) -> None:
    """Drop DWARF debug sections from shared objects (about 40% of the unpacked size).

    `--strip-debug` keeps the symbol tables and touches nothing the dynamic loader reads. Without an
    llvm-strip on PATH the step is skipped, which only costs size.
    """
    strip = find_strip()
    if strip is None:
        log("no llvm-strip found: shared objects keep their debug info (bigger zip, same behaviour)")
        return
    targets = [p for p in site.rglob("*.so*") if p.is_file() and b".debug_info" in p.read_bytes()]
    if not targets:
        return
    before = sum(p.stat().st_size for p in targets)
    result = subprocess.run([strip, "--strip-debug", *map(str, targets)], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"{strip} failed: {result.stderr.strip()}")
    after = sum(p.stat().st_size for p in targets)
    log(f"stripped debug info from {len(targets)} shared objects: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")


def compile_tree(root: Path) -> None:
    ok = compileall.compile_dir(
        str(root),
        quiet=1,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not ok:
        fail(f"byte-compiling {root} failed (a syntax error for Python {RUNTIME_PYTHON}?)")


def check_binaries(site: Path, arch: str) -> None:
    """Every shared object must be an ELF for the target machine (catches a wrong wheel early)."""
    expected = ELF_MACHINE[ARCHES[arch]]
    wrong = []
    for path in site.rglob("*.so*"):
        if not path.is_file():
            continue
        header = path.read_bytes()[:20]
        if header[:4] != b"\x7fELF":
            continue
        machine = int.from_bytes(header[18:20], "little")
        if machine != expected:
            wrong.append(str(path.relative_to(site)))
    if wrong:
        fail(f"shared objects for the wrong architecture (want {ARCHES[arch]}): {wrong[:5]}")


def installed_versions(site: Path) -> dict[str, str]:
    versions = {}
    for meta in sorted(site.glob("*.dist-info/METADATA")):
        name = version = ""
        for line in meta.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Name: "):
                name = line[6:].strip()
            elif line.startswith("Version: "):
                version = line[9:].strip()
            elif not line:
                break
        if name:
            versions[name] = version
    return versions


def collect(root: Path) -> dict[str, Path]:
    files = {}
    for path in root.rglob("*"):
        if path.is_file():
            files[path.relative_to(root).as_posix()] = path
    return files


def zip_info(arcname: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(arcname, date_time=FIXED_ZIP_TIME)
    info.create_system = 3  # unix, so the mode below is honoured
    info.external_attr = (0o100644 & 0xFFFF) << 16  # world-readable: Lambda runs as another user
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def add_tree(archive: zipfile.ZipFile, files: dict[str, Path]) -> int:
    size = 0
    for arcname in sorted(files):
        data = files[arcname].read_bytes()
        size += len(data)
        archive.writestr(zip_info(arcname), data, compresslevel=9)
    return size


def zip_dependencies(site: Path, out: Path) -> None:
    """Compress the dependencies once per cache entry; each build only appends the app to a copy."""
    with zipfile.ZipFile(out, "w") as archive:
        add_tree(archive, collect(site))


def build_dependencies(requirements: Path, arch: str, cache_root: Path) -> Path:
    """Install, slim, strip and compile the dependencies into `<cache>/site` and zip them to `deps.zip`."""
    key = cache_key(requirements, arch)
    final = cache_root / f"{arch}-{key}"
    if (final / ".complete").exists():
        log(f"dependencies: cached ({final.relative_to(REPO) if final.is_relative_to(REPO) else final})")
        return final
    cache_root.mkdir(parents=True, exist_ok=True)
    for stale in cache_root.glob(f"{arch}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=f"tmp-{arch}-", dir=cache_root))
    site = work / "site"
    try:
        pip_install(lambda_requirements(requirements, work / "requirements.txt"), requirements, arch, site)
        slim(site)
        check_binaries(site, arch)
        strip_debug_info(site)
        compile_tree(site)
        zip_dependencies(site, work / "deps.zip")
        (work / ".complete").write_text(json.dumps(installed_versions(site), indent=1, sort_keys=True))
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final
