"""The core's session states and transitions are the spec's table (spec/06-lifecycle.md, 6.1)."""

from __future__ import annotations

import re
from pathlib import Path

from reference.core.session import TRANSITIONS, State

SPEC = Path(__file__).resolve().parents[2] / "spec" / "06-lifecycle.md"


def spec_table() -> dict[str, set[str]]:
    """State -> the states its "Leaves to" cell names, from the server table of section 6.1.

    The section runs to 6.1.1 (named procedures); 6.1.2 is the client's machine, which the
    client side of the core (`ClientSession`) follows.
    """
    text = SPEC.read_text()
    section = text[text.index("## 6.1 ") : text.index("### 6.1.1")]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    table: dict[str, set[str]] = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        state = cells[0].strip("`")
        table[state] = set(re.findall(r"`([A-Z]+)`", cells[-1]))
    return table


def test_the_spec_table_is_parsed() -> None:
    table = spec_table()
    assert set(table) == {"CONNECTING", "OPEN", "ENDING", "CLOSING", "CLOSED"}
    assert table["CLOSED"] == set()


def test_core_states_are_the_spec_states() -> None:
    assert {state.value for state in State} == set(spec_table())
    assert all(state.name == state.value for state in State)


def test_core_transitions_are_the_spec_transitions() -> None:
    spec_pairs = {(src, dst) for src, targets in spec_table().items() for dst in targets}
    core_pairs = {(src.value, dst.value) for (src, _event), dst in TRANSITIONS.items()}
    assert core_pairs == spec_pairs
