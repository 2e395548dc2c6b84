"""The JavaScript peer: the real `@fal-ai/client` 1.10.1 under Node, pinned (spec chapter 13).

`interop/js/` holds a `package.json` and `package-lock.json` that pin `@fal-ai/client` and `ws`
exactly (Node 20 has no global WebSocket; the client uses the global, so the driver installs
`ws` there). `npm ci` installs them into `interop/js/node_modules/` (git-ignored):

    python -m interop.js_client --ensure    # install if needed (make peers runs this)

The install is idempotent: a stamp in `node_modules/` records the hash of the lock file it was
built from. `run_js_driver()` runs `interop/js/fal_js_driver.cjs` against a ws:// base on
127.0.0.1 and returns its JSON; the driver fences the client to loopback (see its header).
Tests call `ensure()`, which raises `JsEnvError` (never a skip) when Node or npm is missing or
the install fails.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parent.parent
JS_DIR = REPO_ROOT / "interop" / "js"
DRIVER = JS_DIR / "fal_js_driver.cjs"
LOCK = JS_DIR / "package-lock.json"
STAMP = JS_DIR / "node_modules" / ".interop-lock-sha256"
#: What the lock pins; checked against the installed package.json files.
PINS = {"@fal-ai/client": "1.10.1", "ws": "8.18.3"}
MIN_NODE_MAJOR = 18  # global fetch
INSTALL_TIMEOUT_S = 600.0
DRIVER_TIMEOUT_S = 240.0
READY_TIMEOUT_S = 60.0


class JsEnvError(RuntimeError):
    """Node, npm or the pinned JavaScript packages are not usable."""


def _lock_digest() -> str:
    return hashlib.sha256(LOCK.read_bytes()).hexdigest()


def _installed_version(package: str) -> str | None:
    try:
        manifest = json.loads((JS_DIR / "node_modules" / package / "package.json").read_text())
    except (OSError, ValueError):
        return None
    version = manifest.get("version")
    return version if isinstance(version, str) else None


def is_ready() -> bool:
    """True when node_modules was installed from the current lock with the pinned versions."""
    try:
        stamped = STAMP.read_text().strip() == _lock_digest()
    except OSError:
        return False
    return stamped and all(_installed_version(p) == v for p, v in PINS.items())


def node_executable() -> str:
    """The `node` on PATH, checked to be new enough.

    Raises:
        JsEnvError: no node, or one older than `MIN_NODE_MAJOR`.
    """
    node = shutil.which("node")
    if node is None:
        raise JsEnvError("node is not on PATH; the JavaScript interop tests need Node >= 18")
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=False, timeout=30
    ).stdout.strip()
    major = version.lstrip("v").split(".")[0]
    if not major.isdigit() or int(major) < MIN_NODE_MAJOR:
        raise JsEnvError(f"node {version or '?'} is too old; need >= {MIN_NODE_MAJOR}")
    return node


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    digest = hashlib.sha256(str(JS_DIR).encode()).hexdigest()[:16]
    with (Path(tempfile.gettempdir()) / f"js-env-{digest}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure() -> str:
    """Install the pinned packages if needed (`npm ci`); return the node executable.

    Raises:
        JsEnvError: with the reason (no node/npm, install failed, wrong versions installed).
    """
    node = node_executable()
    if is_ready():
        return node
    npm = shutil.which("npm")
    if npm is None:
        raise JsEnvError("npm is not on PATH; it installs @fal-ai/client for the interop tests")
    with _install_lock():
        if is_ready():
            return node
        cmd = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
        try:
            done = subprocess.run(
                cmd, cwd=JS_DIR, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise JsEnvError(f"npm ci failed: {exc}") from exc
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
            raise JsEnvError(
                f"npm ci failed (exit {done.returncode}) in {JS_DIR}:\n{tail}\n"
                "The JavaScript interop tests need the npm registry to install @fal-ai/client."
            )
        wrong = {p: _installed_version(p) for p, v in PINS.items() if _installed_version(p) != v}
        if wrong:
            raise JsEnvError(f"npm ci installed unexpected versions {wrong}; pins are {PINS}")
        STAMP.write_text(_lock_digest() + "\n")
    return node


def run_js_driver(
    base: str,
    rest: str,
    *,
    app: str = "local/conformance-app",
    key: str = "local-key",
    scenarios: Sequence[str] = (),
) -> dict[str, Any]:
    """Run the @fal-ai/client driver against `base` (ws://) and `rest` (http://); its JSON.

    Raises:
        JsEnvError: Node or the packages are unusable.
        RuntimeError: the driver crashed or printed no JSON (stderr quoted).
    """
    node = ensure()
    cmd = [node, str(DRIVER), base, "--rest", rest, "--app", app, "--key", key]
    for name in scenarios:
        cmd += ["--scenario", name]
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=DRIVER_TIMEOUT_S, cwd=JS_DIR, check=False
    )
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(
            f"@fal-ai/client driver failed (exit {done.returncode}): {' '.join(cmd)}\n"
            f"--- stdout ---\n{done.stdout[-2000:]}\n--- stderr ---\n{done.stderr[-4000:]}"
        ) from None
    return result


def run_js_driver_with_ready_hook(
    base: str,
    rest: str,
    scenario: str,
    on_ready: Callable[[], object],
    *,
    app: str = "local/conformance-app",
    key: str = "local-key",
) -> dict[str, Any]:
    """Run one scenario that prints `READY` on stderr; call `on_ready()` then; return its JSON.

    For what the client does when the server acts mid-session (e.g. the server shuts down).

    Raises:
        RuntimeError: no READY line in time, or the driver printed no JSON.
    """
    node = ensure()
    cmd = [node, str(DRIVER), base, "--rest", rest, "--app", app, "--key", key]
    process = subprocess.Popen(
        [*cmd, "--scenario", scenario],
        cwd=JS_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    assert process.stderr is not None

    def pump(stream: IO[str]) -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, args=(process.stderr,), daemon=True).start()
    seen: list[str] = []
    try:
        while True:
            line = lines.get(timeout=READY_TIMEOUT_S)
            if line is None:
                break
            seen.append(line)
            if line.strip() == "READY":
                on_ready()
                break
        stdout, _ = process.communicate(timeout=DRIVER_TIMEOUT_S)
    except (queue.Empty, subprocess.TimeoutExpired):
        process.kill()
        process.wait()
        raise RuntimeError(f"driver scenario {scenario} stalled; stderr: {''.join(seen)}") from None
    try:
        result: dict[str, Any] = json.loads(stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"driver printed no JSON: {stdout[-2000:]} {''.join(seen)}") from None
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line: `--ensure` installs the pinned packages if needed."""
    parser = argparse.ArgumentParser(prog="python -m interop.js_client", description=__doc__)
    parser.add_argument("--ensure", action="store_true", help="npm ci in interop/js if needed")
    args = parser.parse_args(argv)
    if not args.ensure:
        print(f"{JS_DIR} ({'ready' if is_ready() else 'missing or stale'}; pins: {PINS})")
        return 0
    try:
        node = ensure()
    except JsEnvError as exc:
        print(f"error: cannot install the JavaScript peer: {exc}", file=sys.stderr)
        return 1
    print(f"{node} with {', '.join(f'{p}@{v}' for p, v in PINS.items())} in {JS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
