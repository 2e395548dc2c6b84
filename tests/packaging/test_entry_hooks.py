"""Bare `conformance` / `loadtests` arguments name the installed package (issue 11 section 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.invocation import cache_root, installed_args
from loadtests._installed import rewrite_locustfile_arg

PKG = Path("/site/conformance")
LOAD = Path("/site/loadtests")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["conformance"], [str(PKG)]),
        (["conformance/"], [str(PKG)]),
        (["conformance/checks/test_auth.py"], [str(PKG / "checks/test_auth.py")]),
        (["conformance/checks/test_x.py::test_y"], [f"{PKG / 'checks/test_x.py'}::test_y"]),
        (["tests", "conformance_extra"], ["tests", "conformance_extra"]),
        (["/abs/conformance"], ["/abs/conformance"]),
    ],
)
def test_pytest_args_point_at_the_installed_suite(
    tmp_path: Path, args: list[str], expected: list[str]
) -> None:
    """Only a path whose first part is `conformance` is rewritten."""
    assert installed_args(args, tmp_path, PKG) == expected


def test_pytest_args_keep_a_users_own_conformance_folder(tmp_path: Path) -> None:
    """A `conformance/` in the working directory always wins."""
    (tmp_path / "conformance").mkdir()
    assert installed_args(["conformance"], tmp_path, PKG) == ["conformance"]


def test_cache_root_is_per_user_and_per_directory(tmp_path: Path) -> None:
    """Two working directories never share a pytest cache (`--lf` stays meaningful)."""
    a, b = cache_root(tmp_path / "a"), cache_root(tmp_path / "b")
    assert a != b
    assert a.parent == b.parent
    assert a.parent.name == "realtime-endpoint-protocol"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["/v/bin/locust", "-f", "loadtests", "-u", "2"],
            ["/v/bin/locust", "-f", str(LOAD), "-u", "2"],
        ),
        (["locust", "--locustfile=loadtests"], ["locust", f"--locustfile={LOAD}"]),
        (
            ["locust", "-f", "loadtests/locustfile.py,mine.py"],
            ["locust", "-f", f"{LOAD / 'locustfile.py'},mine.py"],
        ),
        (["locust", "-f", "mine.py", "--tags", "loadtests"], None),
        (["python", "-f", "loadtests"], None),
    ],
)
def test_locustfile_arg_points_at_the_installed_load_tests(
    tmp_path: Path, argv: list[str], expected: list[str] | None
) -> None:
    """Only a -f/--locustfile entry naming `loadtests`, and only in a locust process."""
    original = list(argv)
    changed = rewrite_locustfile_arg(argv, tmp_path, LOAD)
    assert changed is (expected is not None)
    assert argv == (expected if expected is not None else original)


def test_locustfile_arg_keeps_a_users_own_loadtests_folder(tmp_path: Path) -> None:
    """A `loadtests/` in the working directory always wins."""
    (tmp_path / "loadtests").mkdir()
    argv = ["locust", "-f", "loadtests"]
    assert not rewrite_locustfile_arg(argv, tmp_path, LOAD)
    assert argv == ["locust", "-f", "loadtests"]


def test_installed_suite_runs_with_the_cache_plugin_off(tmp_path: Path) -> None:
    """`-p no:cacheprovider` from outside a checkout: no `cache_dir` ini to move, no crash.

    Before: moving the cache read the `cache_dir` ini, which only the cache plugin registers,
    so the run ended in INTERNALERROR (ValueError: unknown configuration value).
    """
    import subprocess
    import sys

    from conformance.invocation import PACKAGE_DIR

    checks = PACKAGE_DIR / "checks" / "test_limits_http.py"
    command = [sys.executable, "-m", "pytest", str(checks), "-p", "no:cacheprovider"]
    proc = subprocess.run(
        [*command, "--collect-only", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "INTERNALERROR" not in proc.stdout + proc.stderr, proc.stdout[-2000:]
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]
