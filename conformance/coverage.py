"""Which requirement each check verifies, read from the check modules (spec chapter 13).

A static reading of `@pytest.mark.req(...)` in `conformance/checks/test_*.py`, so the
coverage matrix needs no collection and no target. `python -m conformance.coverage` prints
every server-side MUST/SHOULD with its checks, and lists the ones no check covers.
"""

from __future__ import annotations

import ast
import functools
import sys
from pathlib import Path

CHECKS_DIR = Path(__file__).resolve().parent / "checks"

# Server-side requirements that no check can observe from the outside, with the reason.
# They are reported as not-covered with this reason, never as passes.
NOT_OBSERVABLE: dict[str, str] = {
    "RT-AUTH-012": "token expiry during a session needs a token service the target trusts",
    "RT-AUTH-021": "the token service is not part of the server under test",
    "RT-SEC-003": "the target's logs are not visible to the suite",
    "RT-SEC-007": "the token service is not part of the server under test",
    "RT-LIFE-023": "the conformance app defines no policy (quota) that would end a session",
    "RT-SEC-013": "the server's memory and read pausing are not visible on the wire",
    "RT-SEC-018": "the default idle bound (75 s) is longer than a check waits",
    "RT-SEC-019": "reaching a connection cap takes thousands of connections",
    "RT-SEC-020": "a timing figure, measured by bench/soak.py rather than checked",
    "RT-SEC-022": "what a server buffers after its close frame is not visible on the wire",
    "RT-SEC-032": "timing of credential comparison is not measurable on loopback with confidence",
    "RT-SEC-033": "the token signing secret is not visible on the wire",
    "RT-SEC-050": "the default ping wait (20 s + 20 s) is longer than a check waits",
    "RT-SEC-060": "the target's logs are not visible to the suite",
    "RT-CONV-012": "the conformance app's outputs are maps with one key: no output can repeat one",
    "RT-CONV-015": "the conformance app echoes only its str prompt, so a decoded integer never "
    "comes back to show whether it stayed exact",
    "RT-MSG-026": "an app requirement: the conformance app's outputs are fixed by spec 13.2",
    "RT-FLOW-022": "a server that sheds a reader whose buffers are full rarely gets its close "
    "frame out; the flood check sees the connection end, not its code",
}


def _req_args(node: ast.expr) -> list[str]:
    """IDs of a `pytest.mark.req("...")` expression (empty when it is something else)."""
    if not isinstance(node, ast.Call):
        return []
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "req"):
        return []
    return [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def marked_checks(checks_dir: Path) -> dict[str, list[str]]:
    """Requirement ID -> the checks (`module::function`) in `checks_dir` marked with it.

    Read from the source (no import), so coverage is known without running anything; the
    server suite and client mode both scan their own checks folder with it.
    """
    out: dict[str, list[str]] = {}
    for path in sorted(checks_dir.glob("test_*.py")):
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for deco in node.decorator_list:
                    for req_id in _req_args(deco):
                        out.setdefault(req_id, []).append(f"{path.name}::{node.name}")
    return out


@functools.cache
def matrix() -> dict[str, list[str]]:
    """Requirement ID -> the server checks (`module::function`) marked with it."""
    return marked_checks(CHECKS_DIR)


def covered_ids() -> set[str]:
    """Every requirement ID some check is marked with."""
    return set(matrix())


def main() -> int:
    """Print the coverage matrix of server-side MUST/SHOULD requirements."""
    from conformance import catalog

    reqs = catalog.load()
    cov = matrix()
    missing = 0
    for req in sorted(reqs.values(), key=lambda r: r.id):
        if not req.server_side or req.level not in ("MUST", "SHOULD"):
            continue
        checks = cov.get(req.id, [])
        if checks:
            print(f"{req.id:<13} {req.level:<6} {', '.join(checks)}")
        elif req.id in NOT_OBSERVABLE:
            print(f"{req.id:<13} {req.level:<6} (not observable: {NOT_OBSERVABLE[req.id]})")
        else:
            missing += 1
            print(f"{req.id:<13} {req.level:<6} NOT COVERED")
    print(f"{missing} server-side MUST/SHOULD requirement(s) without a check", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
