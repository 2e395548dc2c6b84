"""``locust -f loadtests`` from any directory once the package is installed (loadtests/README.md).

Locust resolves ``-f`` only as a path, so outside a checkout ``-f loadtests`` fails with
``Could not find 'loadtests'``. The wheel ships a one-line ``.pth`` start-up hook that calls
:func:`rewrite_locustfile_arg` in a locust process: a ``-f``/``--locustfile`` entry naming
``loadtests`` (or a file in it) is pointed at the installed package when the current directory
has no ``loadtests`` of its own. Nothing else is touched; any error leaves argv as it was.
Standard library only, and no locust import (gevent must patch first).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["installed_path", "rewrite_locustfile_arg"]

PACKAGE = "loadtests"
_OPTIONS = ("-f", "--locustfile")


def installed_path(entry: str, cwd: Path, package_dir: Path) -> str:
    """Return ``entry`` pointed at ``package_dir`` when it names the package and cwd has none."""
    head, sep, rest = entry.replace(os.sep, "/").partition("/")
    if head != PACKAGE or (cwd / PACKAGE).exists():
        return entry
    return str(package_dir / rest) if sep and rest else str(package_dir)


def _rewrite_value(value: str, cwd: Path, package_dir: Path) -> str:
    return ",".join(installed_path(v.strip(), cwd, package_dir) for v in value.split(","))


def rewrite_locustfile_arg(
    argv: list[str], cwd: Path | None = None, package_dir: Path | None = None
) -> bool:
    """Rewrite ``argv`` in place if it is a locust command line naming ``loadtests``.

    Returns:
        True when an entry was rewritten.
    """
    try:
        if Path(argv[0]).name.removesuffix(".exe") not in ("locust", "locust-script.py"):
            return False
        here = cwd or Path.cwd()
        pkg = package_dir or Path(__file__).resolve().parent
        changed = False
        for i, arg in enumerate(argv[1:], start=1):
            option, eq, value = arg.partition("=")
            if eq and option in _OPTIONS:
                new = f"{option}={_rewrite_value(value, here, pkg)}"
            elif i > 1 and argv[i - 1] in _OPTIONS:
                new = _rewrite_value(arg, here, pkg)
            else:
                continue
            changed |= new != arg
            argv[i] = new
        return changed
    except Exception:  # a start-up hook must never stop the interpreter
        return False
