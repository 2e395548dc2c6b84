"""The wheel's copy of the spec is built from spec/, not committed (issue 9, issue 11 section 3)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from packaging_support import REPO

from conformance import requirements
from conformance.package_data import build_package_data, expected_package_data

SPEC = REPO / "spec"


def test_package_data_is_a_byte_copy_of_spec(tmp_path: Path) -> None:
    """Every chapter, schema and vector lands byte for byte; requirements.json is regenerated."""
    dest = tmp_path / "data"
    written = build_package_data(SPEC, dest)
    assert written
    for name in ["00-introduction.md", "04-messages.md", "README.md", "requirements.json"]:
        assert (dest / name).read_bytes() == (SPEC / name).read_bytes(), name
    for tree in ("schemas", "vectors"):
        sources = sorted(p.relative_to(SPEC) for p in (SPEC / tree).rglob("*") if p.is_file())
        assert sources
        for rel in sources:
            assert (dest / rel).read_bytes() == (SPEC / rel).read_bytes(), rel


def test_package_data_regenerates_requirements_from_the_chapters(tmp_path: Path) -> None:
    """A stale spec/requirements.json is not what ships: the build renders the chapters."""
    spec = tmp_path / "spec"
    subprocess.run(["cp", "-r", str(SPEC), str(spec)], check=True)
    (spec / "requirements.json").write_text("[]\n", encoding="utf-8")
    files = expected_package_data(spec)
    assert files[Path("requirements.json")] == (SPEC / "requirements.json").read_bytes()


def test_package_data_drops_a_file_removed_from_spec(tmp_path: Path) -> None:
    """Rebuilding replaces the whole directory, so nothing removed from spec/ lingers."""
    dest = tmp_path / "data"
    dest.mkdir()
    (dest / "vectors").mkdir()
    stale = dest / "vectors" / "withdrawn.json"
    stale.write_text("{}", encoding="utf-8")
    build_package_data(SPEC, dest)
    assert not stale.exists()
    assert (dest / "vectors" / "msgpack-valid.json").is_file()


def test_checkout_reads_spec_directly() -> None:
    """In a checkout (editable install) the suite reads spec/, and nothing is committed twice."""
    assert requirements.data_dir() == SPEC
    tracked = subprocess.run(
        ["git", "ls-files", "conformance/data"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert tracked == ""


def test_spec_command_prints_requirement_notes_and_checks() -> None:
    """`python -m conformance.spec RT-MSG-021` prints the sentence, its note and its checks."""
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.spec", "RT-MSG-021"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("RT-MSG-021 [MUST] (spec/04-messages.md#rt-msg-021)")
    assert "**MUST** send at most one output for each accepted input on a unary endpoint" in out
    assert "*Note.* The exceptions, each decided elsewhere" in out
    assert "test_messages.py::test_server_echoes_one_binary_output_per_input" in out


def test_spec_command_refuses_an_unknown_id() -> None:
    """An ID the spec does not have is exit 2 with a one-line message."""
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.spec", "RT-MSG-999"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "RT-MSG-999: no such requirement in the spec"
