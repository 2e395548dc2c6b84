"""The fal peer environment: a separate venv with the real, pinned fal packages (spec chapter 13).

The real `fal` server SDK and `fal-client` pull in about 95 packages (grpc, isolate, fastapi,
uvicorn, ...), so they live in their own virtual environment, `.venv-fal/` in the repo root,
never in the project's `.venv`. The interop tests and the fal conformance report run the fal
runner and the real `fal_client` as subprocesses of that venv's interpreter.

    python -m interop.fal_env --ensure     # build it if needed, print the interpreter path

The build is idempotent: a stamp file inside the venv records the pins it was built with; a
venv whose stamp matches is reused as is, anything else is rebuilt from scratch. Tests call
`fal_python()`, which builds the venv on first use and raises `FalEnvError` (never a skip)
when it cannot.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_DIR = REPO_ROOT / ".venv-fal"
STAMP_NAME = ".interop-pins"

# The two packages the protocol's ground truth is defined by, and the transitive packages that
# decide what goes on the wire (uvicorn's WebSocket implementation and limits, websockets in
# fal_client, starlette/fastapi routing, msgpack, pydantic's error texts). Pinned so the fal
# conformance report is reproducible; these are the versions pip resolved for the first two.
PINS: tuple[str, ...] = (
    "fal==1.83.0",
    "fal-client==1.0.3",
    "uvicorn==0.54.0",
    "websockets==17.4",
    "starlette==1.10.0",
    "fastapi==0.136.3",
    "msgpack==1.2.4",
    "pydantic==2.14.4",
    # WebRTC media inside a fal.App, as fal's webcam demo runs it (feature webrtc-media).
    "aiortc==1.16.0",
)
FAL_VERSION = "1.83.0"
INSTALL_TIMEOUT_S = 900.0


class FalEnvError(RuntimeError):
    """The fal peer venv could not be built or is unusable."""


def venv_python(venv: Path = VENV_DIR) -> Path:
    """The interpreter of the fal venv (it may not exist yet)."""
    return venv / "bin" / "python"


def _stamp_text() -> str:
    base = f"{sys.version_info.major}.{sys.version_info.minor}"
    return "\n".join([f"python {base}", *PINS]) + "\n"


def is_ready(venv: Path = VENV_DIR) -> bool:
    """True when the venv exists and was built with exactly the current pins."""
    stamp = venv / STAMP_NAME
    try:
        return venv_python(venv).exists() and stamp.read_text() == _stamp_text()
    except OSError:
        return False


@contextlib.contextmanager
def _build_lock(venv: Path) -> Iterator[None]:
    """Serialise builds of one venv across processes (parallel test runs, make + pytest)."""
    digest = hashlib.sha256(str(venv).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"fal-env-{digest}.lock"
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(cmd: list[str], what: str) -> None:
    try:
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FalEnvError(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise FalEnvError(
            f"{what} failed (exit {done.returncode}):\n  {' '.join(cmd)}\n{tail}\n"
            "The interop tests need PyPI to be reachable to install the pinned fal packages."
        )


def ensure(venv: Path = VENV_DIR, *, log: bool = False) -> Path:
    """Build the fal venv if it is missing or stale; return its interpreter.

    Raises:
        FalEnvError: the venv could not be created or the pinned packages not installed.
    """
    if is_ready(venv):
        return venv_python(venv)
    with _build_lock(venv):
        if is_ready(venv):  # another process built it while we waited
            return venv_python(venv)
        started = time.monotonic()
        if log:
            print(f"building {venv} with {' '.join(PINS)} ...", file=sys.stderr, flush=True)
        with contextlib.suppress(OSError):  # no stamp (or no venv dir): nothing to invalidate
            (venv / STAMP_NAME).unlink()
        _run([sys.executable, "-m", "venv", "--clear", str(venv)], "creating the fal venv")
        pip = [str(venv_python(venv)), "-m", "pip", "--disable-pip-version-check"]
        _run([*pip, "install", "--quiet", *PINS], "installing the pinned fal packages")
        _run(
            [str(venv_python(venv)), "-c", "import fal, fal_client, uvicorn, msgpack"],
            "importing fal in the fal venv",
        )
        (venv / STAMP_NAME).write_text(_stamp_text())
        if log:
            took = time.monotonic() - started
            print(f"built {venv} in {took:.1f} s", file=sys.stderr, flush=True)
    return venv_python(venv)


def fal_python() -> Path:
    """The fal venv's interpreter for tests: builds it on first use, raises if it cannot.

    Raises:
        FalEnvError: with the reason; tests let it propagate so the run fails loudly.
    """
    return ensure(VENV_DIR)


def main(argv: list[str] | None = None) -> int:
    """Command line: `--ensure` builds the venv if needed and prints its interpreter path."""
    parser = argparse.ArgumentParser(prog="python -m interop.fal_env", description=__doc__)
    parser.add_argument("--ensure", action="store_true", help="build .venv-fal/ if needed")
    parser.add_argument("--venv", type=Path, default=VENV_DIR, help="venv directory")
    args = parser.parse_args(argv)
    if not args.ensure:
        state = "ready" if is_ready(args.venv) else "missing or stale"
        print(f"{venv_python(args.venv)} ({state}; pins: {' '.join(PINS)})")
        return 0
    try:
        python = ensure(args.venv, log=True)
    except FalEnvError as exc:
        print(f"error: cannot build the fal peer venv {args.venv}: {exc}", file=sys.stderr)
        return 1
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
