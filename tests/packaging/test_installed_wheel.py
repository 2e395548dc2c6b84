"""The card's commands from a wheel built from the sdist, in a fresh venv (issue 11 section 2).

Slow (about a minute: two venvs, a build, an install from the configured package index), and
kept to this one module. One module-scoped install serves every test: the sdist is built from a
clean copy of the tree, the wheel from the sdist (as ``python -m build`` does), the wheel is
installed with the ``[load]`` extra, and each command runs from an empty directory against the
installed reference server on 127.0.0.1.
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging_support import (
    DEPRECATION,
    clean_env,
    copy_tree,
    free_port,
    make_venv,
    python_of,
    reference_server,
    run,
)

BUILD_TIMEOUT_S = 600


@dataclass(frozen=True)
class Installed:
    """A fresh venv with the wheel installed, and where it came from."""

    bin: Path
    sdist: Path
    wheel: Path
    build_log: str
    install_log: str
    env: dict[str, str]
    cache_home: Path


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build sdist -> wheel from a copy of the tree and install it into a fresh venv."""
    root = tmp_path_factory.mktemp("packaging")
    cache_home = root / "xdg-cache"
    env = clean_env(cache_home)
    src = copy_tree(root / "src")
    builder = make_venv(root / "build-venv")
    step = run([python_of(builder), "-m", "pip", "install", "-q", "build"], root, env)
    assert step.returncode == 0, step.stdout[-3000:]
    dist = root / "dist"
    build = run(
        [python_of(builder), "-m", "build", "--outdir", dist, src], root, env, BUILD_TIMEOUT_S
    )
    assert build.returncode == 0, build.stdout[-3000:]
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    user = make_venv(root / "user-venv")
    install = run(
        [python_of(user), "-m", "pip", "install", f"{wheel}[load]"], root, env, BUILD_TIMEOUT_S
    )
    assert install.returncode == 0, install.stdout[-3000:]
    return Installed(user, sdist, wheel, build.stdout, install.stdout, env, cache_home)


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    """A working directory with nothing in it (no checkout, no conformance/, no loadtests/)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def server(installed: Installed, tmp_path: Path) -> Iterator[str]:
    """The installed reference server on a free loopback port, started outside any checkout."""
    cwd = tmp_path / "server"
    cwd.mkdir()
    with reference_server(python_of(installed.bin), cwd, installed.env) as url:
        yield url


def test_build_and_install_print_no_deprecation_warning(installed: Installed) -> None:
    """No setuptools/licence deprecation in the build or install output."""
    assert "Successfully built" in installed.build_log
    assert not DEPRECATION.findall(installed.build_log), installed.build_log
    assert not DEPRECATION.findall(installed.install_log), installed.install_log


def test_sdist_carries_spec_and_license(installed: Installed) -> None:
    """The sdist holds spec/ (the wheel's data is built from it) and the LICENSE."""
    with tarfile.open(installed.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {
        "LICENSE",
        "setup.py",
        "spec/04-messages.md",
        "spec/vectors/msgpack-valid.json",
    } <= names
    assert not any(name.startswith("conformance/data/") for name in names)


def test_wheel_ships_the_spec_and_the_licence(installed: Installed) -> None:
    """The wheel built from the sdist has the chapters, schemas, vectors and requirements.json."""
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = wheel.read(metadata).decode()
    for name in (
        "conformance/data/requirements.json",
        "conformance/data/04-messages.md",
        "conformance/data/schemas/x-fal-error.schema.json",
        "conformance/data/vectors/msgpack-invalid.json",
        "loadtests/README.md",
        "realtime_endpoint_protocol_locust.pth",
    ):
        assert name in names, name
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: Apache-2.0" in meta


def test_pytest_conformance_runs_from_an_empty_directory(
    installed: Installed, server: str, empty_dir: Path
) -> None:
    """`pytest conformance --target URL` passes and leaves no cache in the working directory."""
    proc = run(
        [installed.bin / "pytest", "conformance", "--target", server], empty_dir, installed.env
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "file or directory not found" not in proc.stdout
    assert f"target {server}; level must" in proc.stdout
    assert " passed" in proc.stdout
    assert " failed" not in proc.stdout
    assert sorted(p.name for p in empty_dir.iterdir()) == []
    stores = {p.name for p in (installed.cache_home / "realtime-endpoint-protocol").glob("*/*")}
    assert {"pytest", "hypothesis"} <= stores


def test_pytest_pyargs_form_leaves_the_directory_clean(
    installed: Installed, server: str, empty_dir: Path
) -> None:
    """`pytest --pyargs conformance` (the form that worked before) also keeps cwd clean."""
    cmd: list[str | Path] = [
        installed.bin / "pytest",
        "--pyargs",
        "conformance",
        "--target",
        server,
    ]
    proc = run([*cmd, "-k", "test_transport"], empty_dir, installed.env)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert " passed" in proc.stdout
    assert sorted(p.name for p in empty_dir.iterdir()) == []


def test_pytest_conformance_fails_a_wrong_target_from_an_empty_directory(
    installed: Installed, empty_dir: Path
) -> None:
    """The installed suite really runs checks: an unreachable target is exit 6, not a pass."""
    target = f"ws://127.0.0.1:{free_port()}"
    proc = run(
        [installed.bin / "pytest", "conformance", "--target", target], empty_dir, installed.env
    )
    assert proc.returncode == 6, proc.stdout[-3000:]
    assert sorted(p.name for p in empty_dir.iterdir()) == []


def test_locust_loadtests_runs_from_an_empty_directory(
    installed: Installed, server: str, empty_dir: Path, tmp_path: Path
) -> None:
    """`locust -f loadtests --headless ...` loads the installed load tests and reports in µs."""
    prefix = tmp_path / "results" / "run"
    proc = run(
        [
            installed.bin / "locust",
            "-f",
            "loadtests",
            "--headless",
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            "3s",
            "--host",
            server,
            "--latency-prefix",
            prefix,
        ],
        empty_dir,
        installed.env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "Could not find" not in proc.stdout
    assert "Round-trip latency in microseconds" in proc.stdout
    assert "/realtime" in proc.stdout
    assert Path(f"{prefix}_latency_us.json").is_file()
    assert sorted(p.name for p in empty_dir.iterdir()) == []


def test_spec_command_reads_the_packaged_chapters(installed: Installed, empty_dir: Path) -> None:
    """`python -m conformance.spec RT-MSG-021` works offline from the installed chapters."""
    proc = run(
        [python_of(installed.bin), "-m", "conformance.spec", "RT-MSG-021"], empty_dir, installed.env
    )
    assert proc.returncode == 0, proc.stdout
    assert "site-packages/conformance/data/04-messages.md:" in proc.stdout
    assert "**MUST** send at most one output for each accepted input" in proc.stdout
    assert "test_server_echoes_one_binary_output_per_input" in proc.stdout


def test_inspector_is_installed(installed: Installed, empty_dir: Path) -> None:
    """`python -m conformance.inspect` ships too (here: its refusal of a non-loopback address)."""
    cmd: list[str | Path] = [python_of(installed.bin), "-m", "conformance.inspect"]
    cmd += ["--listen", "0.0.0.0:0", "--upstream", "ws://127.0.0.1:9"]
    proc = run(cmd, empty_dir, installed.env)
    assert proc.returncode == 2, proc.stdout
    assert "refusing to listen on 0.0.0.0: not a loopback address" in proc.stdout
