"""The spec as an installed suite reads it: ``conformance/data/``, built from spec/ (chapter 13).

``conformance/data/`` is not kept in git. The wheel's build step (``setup.py``) calls
:func:`build_package_data`, which writes a copy of ``spec/`` into the package: the chapters and
README (so a requirement's spec link resolves for an installed user, and ``python -m
conformance.spec`` can print it), ``schemas/``, ``vectors/``, and ``requirements.json`` generated
from the chapters, never copied. In a checkout (editable install) there is no such copy and the
suite reads ``spec/`` itself (:func:`conformance.requirements.data_dir`). Standard library only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conformance.requirements import parse_spec, render_json

__all__ = ["COPIED_TREES", "build_package_data", "expected_package_data"]

#: Subdirectories of spec/ copied verbatim into the package.
COPIED_TREES = ("schemas", "vectors")


def _shipped(path: Path) -> bool:
    return path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"


def expected_package_data(spec_dir: Path) -> dict[Path, bytes]:
    """Relative path -> content of every file the package's data directory holds.

    Raises:
        conformance.requirements.SpecError: when the chapters break the requirement grammar
            (a wheel is never built from a spec that does not lint).
    """
    files: dict[Path, bytes] = {
        Path("requirements.json"): render_json(parse_spec(spec_dir)).encode("utf-8")
    }
    for path in sorted(spec_dir.glob("*.md")):
        files[Path(path.name)] = path.read_bytes()
    for tree in COPIED_TREES:
        for path in sorted((spec_dir / tree).rglob("*")):
            if _shipped(path):
                files[path.relative_to(spec_dir)] = path.read_bytes()
    return files


def build_package_data(spec_dir: Path, dest: Path) -> list[Path]:
    """Write the package's data directory ``dest`` from ``spec_dir``; return the files written.

    ``dest`` is replaced as a whole, so a file removed from spec/ never lingers in a wheel.
    """
    files = expected_package_data(spec_dir)
    if dest.exists():
        shutil.rmtree(dest)
    written = []
    for rel, content in files.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        written.append(target)
    return written
