"""The 1.1 vector kinds hold on their own terms (spec 01, 02, 06, 15 and vectors/README.md).

Output-decoder cases are judged by the strict profile decoder of `test_spec_vectors` seen from
the client's side; URL cases by a URL builder written here from spec 02 section 2.2 alone; every
case's `level` must be the level of a requirement it cites, so a vector never claims more than
the text.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import msgpack
import pytest
import spec_support as sup
from test_spec_vectors import ProfileError, _same, decode_input, json_view

VECTORS = sup.spec_dir() / "vectors"
NAMESPACES = ("workflows", "comfy")
LEGACY_ID = re.compile(r"^(\d+)-(.+)$")


def _cases(name: str) -> list[Any]:
    data = json.loads((VECTORS / name).read_text("utf-8"))
    stem = Path(name).stem
    cases = enumerate(data["cases"])
    return [pytest.param(c, id=f"{stem}[{n}] {c['description']}") for n, c in cases]


class Refused(Exception):
    """The client refuses the arguments before connecting."""


def build_url(
    base: str, app_id: str, path: str | None, token: str | None, max_buffering: int | None
) -> str:
    """Spec 02 section 2.2, steps 1 to 4, with every SHOULD applied."""
    if "/" not in app_id:
        legacy = LEGACY_ID.match(app_id)
        if legacy is None:
            raise Refused(app_id)  # RT-TRANS-015
        app_id = f"{legacy.group(1)}/{legacy.group(2)}"  # RT-TRANS-013
    if path is None:
        path = "" if app_id.split("/")[-1] == "realtime" else "/realtime"  # RT-TRANS-012
    elif path:
        path = "/" + path.lstrip("/")  # RT-TRANS-016
    query: list[tuple[str, str]] = []
    if token is not None:
        query.append(("fal_jwt_token", token))
    if max_buffering is not None:
        if not 1 <= max_buffering <= 60:
            raise Refused(str(max_buffering))  # RT-TRANS-022
        query.append(("max_buffering", str(max_buffering)))
    url = f"{base}/{app_id}{path}"
    return url + ("?" + urllib.parse.urlencode(query) if query else "")


def _levels(case: dict[str, Any]) -> set[str]:
    reqs = sup.spec_requirements()
    return {reqs[r].level for r in case["requirements"]}


@pytest.mark.parametrize("case", _cases("msgpack-output.json"))
def test_output_vector_holds(case: dict[str, Any]) -> None:
    """A deliver case decodes to its value; an error case fails for its reason."""
    data = bytes.fromhex(case["hex"])
    if case["verdict"] == "deliver":
        try:
            value = decode_input(data)
        except ProfileError as exc:  # a client keeps the last of duplicate keys (RT-CONV-014)
            if exc.reason != "duplicate-key":
                raise
            value = msgpack.unpackb(data, raw=False)
        assert _same(json_view(value), case["value"])
    else:
        with pytest.raises(ProfileError) as info:
            decode_input(data)
        assert info.value.reason == case["reason"]
    assert case.get("level", "MUST") in _levels(case)


@pytest.mark.parametrize("case", _cases("url-building.json"))
def test_url_vector_holds(case: dict[str, Any]) -> None:
    """The URL of a case is what spec 2.2 gives; a refusal case is refused."""
    args = (
        case["base"],
        case["app_id"],
        case["path"],
        case.get("token"),
        case.get("max_buffering"),
    )
    if case["verdict"] == "refuse":
        with pytest.raises(Refused):
            build_url(*args)
    else:
        assert build_url(*args) == case["url"]
    assert case["level"] in _levels(case)


@pytest.mark.parametrize(
    "name", ["websocket-control.json", "session-sequences.json", "url-building.json"]
)
def test_vector_levels_match_their_requirements(name: str) -> None:
    """No case is stricter or weaker than the requirements it cites."""
    for param in _cases(name):
        case = param.values[0]
        assert case["level"] in _levels(case), (case["description"], _levels(case))


def test_session_vectors_use_only_declared_features() -> None:
    """Each session's `feature` is a feature row of spec 13.2 and its path that feature's."""
    text = (sup.spec_dir() / "13-conformance.md").read_text("utf-8")
    for param in _cases("session-sequences.json"):
        case = param.values[0]
        feature = case.get("feature")
        if feature is not None:
            assert f"| `{feature}` | `{case['path']}` |" in text, (feature, case["path"])
