"""The requirements generator: requirements.json stays in sync with the chapters (spec 00)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import spec_support as sup
from jsonschema import Draft202012Validator

from conformance import requirements as reqmod
from conformance.requirements import SpecError, load_requirements, parse_spec


def test_generated_files_are_in_sync() -> None:
    """`python -m conformance.requirements --check` finds no drift."""
    spec_dir = sup.spec_dir()
    assert reqmod.check(spec_dir) == []
    assert reqmod.main(["--check"]) == 0


def test_requirements_json_matches_its_schema() -> None:
    """The generated list has the documented shape."""
    spec_dir = sup.spec_dir()
    schema = json.loads((spec_dir / "schemas" / "requirements.schema.json").read_text("utf-8"))
    records = json.loads((spec_dir / "requirements.json").read_text("utf-8"))
    Draft202012Validator(schema).validate(records)


def test_load_requirements_reads_the_packaged_copy() -> None:
    """The suite's lookup returns exactly what the Markdown says."""
    spec_requirements = sup.spec_requirements()
    loaded = load_requirements()
    assert loaded == spec_requirements
    ctrl = loaded["RT-CTRL-001"]
    assert ctrl.anchor == "spec/05-control-frames.md#rt-ctrl-001"
    assert ctrl.chapter == "05-control-frames"
    assert ctrl.applies_to == ("server",)
    assert ctrl.applies_to_server()
    assert not ctrl.applies_to_client()
    assert "**" not in ctrl.text


def test_every_must_is_core_and_every_robust_is_a_should() -> None:
    """The profile rule of chapter 13 holds for every requirement."""
    spec_requirements = sup.spec_requirements()
    for req in spec_requirements.values():
        if req.level == "MUST":
            assert req.profile == "core", req.id
        if req.profile == "robust":
            assert req.level == "SHOULD", req.id


def test_every_chapter_with_an_area_has_requirements() -> None:
    """No area is empty, and each ID sits in its area's chapter."""
    spec_requirements = sup.spec_requirements()
    chapters = {r.chapter for r in spec_requirements.values()}
    assert chapters == set(reqmod.AREAS)
    for req in spec_requirements.values():
        assert req.id.split("-")[1] == reqmod.AREAS[req.chapter]


def test_links_to_requirements_use_their_anchor() -> None:
    """A Markdown link to `#rt-...` names the same ID as its text, in the right chapter."""
    spec_dir = sup.spec_dir()
    link = re.compile(r"\[(RT-[A-Z]+-\d{3})\]\(([^)#]*)#(rt-[a-z]+-\d{3})\)")
    known = {r.id: r for r in parse_spec(spec_dir)}
    for path in sorted(spec_dir.glob("*.md")):
        for text_id, file_part, anchor in link.findall(path.read_text("utf-8")):
            assert anchor == text_id.lower(), (path.name, text_id, anchor)
            target = file_part or path.name
            assert known[text_id].anchor == f"spec/{target}#{anchor}", (path.name, text_id)


# --------------------------------------------------------------------------- the linter


def _copy_spec(spec_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "spec"
    shutil.copytree(spec_dir, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


BROKEN_EDITS = [
    pytest.param(
        "05-control-frames.md", "#### RT-CTRL-002\n", "#### RT-CTRL-001\n", "duplicate", id="dup-id"
    ),
    pytest.param(
        "05-control-frames.md",
        "Applies to: server. Level: MUST. Profile: core.\n",
        "Applies to: server. Level: SHOULD. Profile: core.\n",
        "do not match",
        id="keyword-level-mismatch",
    ),
    pytest.param(
        "05-control-frames.md",
        "Applies to: server. Level: MUST. Profile: core.\n",
        "Applies to: server. Level: MUST. Profile: robust.\n",
        "every MUST is profile core",
        id="must-robust",
    ),
    pytest.param(
        "05-control-frames.md",
        "Applies to: server. Level: MUST. Profile: core.\n",
        "Applies to: servers. Level: MUST. Profile: core.\n",
        "needs the line",
        id="bad-meta",
    ),
    pytest.param(
        "05-control-frames.md", "#### RT-CTRL-001\n", "#### RT-MSG-099\n", "area", id="wrong-area"
    ),
    pytest.param(
        "05-control-frames.md",
        "#### RT-CTRL-001\n",
        "### RT-CTRL-001\n",
        "exactly",
        id="h3-heading",
    ),
    pytest.param(
        "06-lifecycle.md",
        "There are no application-level\npings in 1.0;",
        "Servers **MUST NOT** send application-level pings;",
        "outside a requirement",
        id="bold-keyword-in-prose",
    ),
    pytest.param(
        "04-messages.md",
        "# 4. Realtime messages\n",
        "# 4. Realtime messages\n\nSee RT-MSG-999.\n",
        "unknown requirement",
        id="unknown-citation",
    ),
]


@pytest.mark.parametrize(("chapter", "old", "new", "expected"), BROKEN_EDITS)
def test_linter_rejects_broken_markdown(
    tmp_path: Path, chapter: str, old: str, new: str, expected: str
) -> None:
    """Each grammar or lint violation stops generation with a message naming it."""
    spec_dir = sup.spec_dir()
    copy = _copy_spec(spec_dir, tmp_path)
    _edit(copy / chapter, old, new)
    with pytest.raises(SpecError) as info:
        parse_spec(copy)
    assert any(expected in problem for problem in info.value.problems), info.value.problems


def test_check_reports_drift_with_a_diff(tmp_path: Path) -> None:
    """Editing a requirement without regenerating shows up as a diff of requirements.json."""
    spec_dir = sup.spec_dir()
    copy = _copy_spec(spec_dir, tmp_path)
    _edit(
        copy / "05-control-frames.md",
        "one JSON object with a string member `type`.",
        "one JSON object with a str member `type`.",
    )
    drift = reqmod.check(copy)
    assert any("+" in d and "a str member" in d for d in drift), drift


def test_write_then_check_round_trips(tmp_path: Path) -> None:
    """Generation is deterministic: writing twice changes nothing the second time."""
    spec_dir = sup.spec_dir()
    copy = _copy_spec(spec_dir, tmp_path)
    rendered = reqmod.render_json(parse_spec(copy))
    assert rendered == (copy / "requirements.json").read_text("utf-8")
    assert json.loads(rendered)[0]["id"].startswith("RT-CONV-")
