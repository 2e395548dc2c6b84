"""Build step of the wheel: package the spec from ``spec/`` (it is not kept in git).

Everything else is declared in pyproject.toml. ``build_py`` additionally writes

- ``conformance/data/``: the chapters, schemas, vectors and a requirements.json generated from
  the chapters (:mod:`conformance.package_data`), which the installed suite and
  ``python -m conformance.spec`` read;
- ``realtime_endpoint_protocol_locust.pth``: one guarded line that lets ``locust -f loadtests``
  name the installed load tests from any directory (:mod:`loadtests._installed`).

An editable install gets neither: a checkout reads ``spec/`` itself and has ``./loadtests``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from conformance.package_data import build_package_data  # noqa: E402

LOCUST_PTH = "realtime_endpoint_protocol_locust.pth"
# Runs at interpreter start-up (site.py); it imports nothing unless the process is locust.
LOCUST_PTH_LINE = (
    "import sys; "
    'sys.argv and "locust" in sys.argv[0] and '
    '__import__("loadtests._installed", fromlist=["_"]).rewrite_locustfile_arg(sys.argv)\n'
)


class BuildPyWithSpec(build_py):
    """``build_py`` that also packages the spec and the locust start-up hook."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        build_lib = Path(self.build_lib)
        build_package_data(ROOT / "spec", build_lib / "conformance" / "data")
        (build_lib / LOCUST_PTH).write_text(LOCUST_PTH_LINE, encoding="utf-8")


setup(cmdclass={"build_py": BuildPyWithSpec})
