"""Each deliberately broken client is caught on exactly the requirements it breaks (chapter 13)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _suite import SuiteRun, broken_client_cmd, run_client_suite

# name -> the requirement IDs it breaks (MUST and SHOULD; the runs use --level should).
CATALOGUE: dict[str, set[str]] = {
    "_minimal": set(),  # the baseline: a correct client breaks nothing
    "text_frames": {
        "RT-MSG-001",
        "RT-MSG-002",
        "RT-MSG-003",
        "RT-CONV-001",
        "RT-CONV-002",
        "RT-CONV-003",
        "RT-CONV-004",
    },
    "json_binary": {
        "RT-MSG-001",
        "RT-MSG-003",
        "RT-CONV-001",
        "RT-CONV-002",
        "RT-CONV-003",
        "RT-CONV-004",
    },
    "sloppy_encoder": {"RT-CONV-004", "RT-MSG-003"},
    "waits_for_each_output": {"RT-CONF-041", "RT-FLOW-030", "RT-MSG-023", "RT-MSG-032"},
    "sloppy_control": {"RT-CTRL-031", "RT-CTRL-032"},
    "sloppy_ending": {"RT-CTRL-021", "RT-STREAM-008", "RT-LIFE-032"},
    "ignores_errors": {"RT-CTRL-020", "RT-CTRL-022", "RT-CTRL-023", "RT-CTRL-024"},
    # Closing on an error frame also ends the session on the 1.1 decode-error vector, whose
    # session must go on (RT-CONV-016, RT-CTRL-025).
    "closes_on_error": {"RT-CTRL-024", "RT-CONV-016", "RT-CTRL-025"},
    "bare_path": {
        "RT-CONF-040",
        "RT-TRANS-010",
        "RT-TRANS-011",
        "RT-TRANS-012",
        "RT-TRANS-013",
        "RT-TRANS-014",  # the 1.1 URL vectors: a bare path ignores the app id and path rules
        "RT-TRANS-016",
    },
    "sloppy_adapter": {
        "RT-CONF-042",
        "RT-CONF-043",
        "RT-CONF-044",
        "RT-CONF-045",
        "RT-LIFE-033",
    },
    "tiny_max_size": {"RT-TRANS-045", "RT-TRANS-046"},
    # Its own binary decoder skips the 1.1 profile check, so an output outside the profile is
    # delivered or misreported instead of DECODE_ERROR (RT-CONV-016, RT-CTRL-026).
    "sloppy_wire": {
        "RT-CONV-005",
        "RT-CONV-010",
        "RT-CONV-016",
        "RT-CTRL-026",
        "RT-MSG-024",
        "RT-TRANS-014",
    },
    "sloppy_session": {"RT-AUTH-013", "RT-CTRL-041", "RT-LIFE-031"},
    "sloppy_auth": {"RT-AUTH-004", "RT-CONF-046", "RT-AUTH-020", "RT-AUTH-023", "RT-AUTH-024"},
    "sloppy_extensions": {
        "RT-EXT-001",
        "RT-EXT-006",
        "RT-EXT-007",
        "RT-EXT-008",
        "RT-EXT-010",
        "RT-EXT-021",
        "RT-EXT-033",
        "RT-EXT-042",
    },
    # The 1.1 client rules, one coherent fault each.
    "refuses_nonfinite": {"RT-CONV-011"},
    "repeats_a_key": {"RT-CONV-012"},
    "first_key_wins": {"RT-CONV-014"},
    # Rounded to doubles, a big integer is still accepted (RT-CONV-005 holds), only inexact.
    "rounds_big_ints": {"RT-CONV-015"},
    "hides_close_code": {"RT-LIFE-036"},
    # The 1.0 exemption (any type or status member) drops outputs both 1.1 rules deliver.
    "drops_typed_outputs": {"RT-MSG-024", "RT-MSG-025"},
    "offers_subprotocol": {"RT-TRANS-006"},
    "accepts_any_app_id": {"RT-TRANS-015"},
}


@pytest.fixture(scope="module")
def catalogue_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SuiteRun]:
    """Every broken client run through the whole client suite, two at a time."""

    def run(name: str) -> tuple[str, SuiteRun]:
        tmp: Path = tmp_path_factory.mktemp(name.strip("_"))
        # --client-startup 2: the hanging client is killed 2 s + the case's own bound late.
        extra = ("--level", "should", "--client-startup", "2", "--client-jobs", "2")
        return name, run_client_suite(broken_client_cmd(name), tmp, *extra)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, CATALOGUE))


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_broken_client_is_caught_on_exactly_what_it_breaks(
    catalogue_runs: dict[str, SuiteRun], name: str
) -> None:
    """The failed requirements are exactly the catalogue's, and nothing is a harness error."""
    run = catalogue_runs[name]
    assert not run.verdicts("error", "not-covered"), run.output
    assert run.broken() == CATALOGUE[name], (
        f"{name}: caught on {sorted(run.broken())}, expected {sorted(CATALOGUE[name])}\n"
        + run.output
    )
    assert run.status == (1 if CATALOGUE[name] else 0), run.output


def test_catalogue_breaks_every_testable_client_requirement_somewhere() -> None:
    """A client-side requirement no broken client breaks has a check never shown to fail."""
    from conformance.client_mode.coverage import NOT_TESTABLE, client_requirements

    broken = set().union(*CATALOGUE.values())
    never = sorted(set(client_requirements()) - broken - set(NOT_TESTABLE))
    assert set(never) == set(KNOWN_UNKILLED), f"requirements no broken client breaks: {never}"


# Client-side requirements whose checks no broken client here fails, and why.
KNOWN_UNKILLED: dict[str, str] = {
    "RT-AUTH-022": "a client that cannot read a JSON-string token cannot authenticate at all",
    "RT-CONV-006": "the msgpack library here has no depth limit to turn down",
    "RT-LIFE-011": "every WebSocket library here answers pings by itself",
    "RT-LIFE-030": "a client calling close 1000 an error fails most other checks too",
    "RT-TRANS-032": "a client that needs compression fails nearly every case",
    "RT-TRANS-041": "every WebSocket library here reassembles fragments by itself",
}
