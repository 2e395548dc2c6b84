"""``pytest conformance ...`` from any directory once the package is installed (chapter 13).

Registered as the ``conformance_invocation`` pytest11 entry point, apart from the suite's plugin.
Outside a checkout there is no ``./conformance`` folder, and pytest would stop with ``file or
directory not found: conformance`` (exit 4). This plugin points a bare ``conformance`` argument
(or ``conformance/checks/test_x.py::test_y``) at the installed package when the current
directory has no ``conformance`` of its own; a user's own folder of that name always wins.

When the installed suite runs that way (or as ``pytest --pyargs conformance``), the run leaves
nothing in the user's working directory: pytest's cache and Hypothesis' storage go to a per-user
cache directory (``$XDG_CACHE_HOME`` or ``~/.cache``, under ``realtime-endpoint-protocol``),
unless the user configured them. Standard library and pytest only.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

__all__ = ["cache_root", "installed_args", "pytest_configure"]

PACKAGE = "conformance"
PACKAGE_DIR = Path(__file__).resolve().parent
ENV_HYPOTHESIS = "HYPOTHESIS_STORAGE_DIRECTORY"
_DEFAULT_CACHE_DIRS = (
    ".pytest_cache",
    os.path.join(os.environ.get("TOX_ENV_DIR", ""), ".pytest_cache"),
)


def installed_args(args: Sequence[str], cwd: Path, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Return ``args`` with every path argument naming ``conformance`` pointed at ``package_dir``.

    Only when ``cwd`` has no ``conformance`` entry of its own; other arguments are unchanged.
    """
    if (cwd / PACKAGE).exists():
        return list(args)
    out = []
    for arg in args:
        path, sep, node = arg.partition("::")
        head, slash, rest = path.replace(os.sep, "/").partition("/")
        if head == PACKAGE:
            target = package_dir / rest if slash and rest else package_dir
            arg = f"{target}{sep}{node}"
        out.append(arg)
    return out


def cache_root(cwd: Path) -> Path:
    """The per-user cache directory for runs started in ``cwd`` (one per working directory)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = hashlib.sha256(str(cwd).encode()).hexdigest()[:16]
    return Path(base) / "realtime-endpoint-protocol" / key


def _runs_installed_suite(config: pytest.Config) -> bool:
    """True when the run collects the installed package from outside it (never a checkout)."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return False
    if config.option.pyargs and any(a.split("::")[0].split(".")[0] == PACKAGE for a in config.args):
        return True
    return any(
        Path(a.split("::")[0]).resolve().is_relative_to(PACKAGE_DIR) for a in config.args
    ) and (not config.invocation_params.dir.resolve().is_relative_to(PACKAGE_DIR.parent))


def _move_pytest_cache(config: pytest.Config, root: Path) -> None:
    """Point pytest's cache at ``root`` unless the user set ``cache_dir`` themselves.

    With ``-p no:cacheprovider`` there is no cache and no ``cache_dir`` ini to read.
    """
    if not config.pluginmanager.has_plugin("cacheprovider"):
        return
    if config.getini("cache_dir") not in _DEFAULT_CACHE_DIRS:
        return
    # pytest has no public setter for an ini value after parsing; its getini() cache is read by
    # the cache plugin's pytest_configure, which runs after this tryfirst hook.
    config._inicache["cache_dir"] = str(root / "pytest")


def _move_hypothesis_storage(root: Path) -> None:
    """Keep Hypothesis' storage (examples, unicode tables) out of the working directory."""
    if os.environ.get(ENV_HYPOTHESIS):
        return
    os.environ[ENV_HYPOTHESIS] = str(root / "hypothesis")
    configuration = sys.modules.get("hypothesis.configuration")
    if configuration is not None:  # already imported: its home may be cached
        configuration.set_hypothesis_home_dir(root / "hypothesis")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Point ``conformance`` at the installed suite; keep the user's directory clean."""
    cwd = config.invocation_params.dir
    if config.args_source == pytest.Config.ArgsSource.ARGS and not config.option.pyargs:
        config.args[:] = installed_args(config.args, cwd)
    if _runs_installed_suite(config):
        root = cache_root(cwd)
        _move_pytest_cache(config, root)
        _move_hypothesis_storage(root)
