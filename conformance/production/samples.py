"""Sample inputs (and the outputs they must produce) for production-app mode (spec 13.4).

Standard library only: the plugin and the load tests both read `--sample-input` with it. A
value is a JSON document, or `@PATH` (a file holding one): an object (one input), an array of
inputs, or `{"samples": [{"input": {...}, "output": {...}}, ...]}` where `output` is optional:
when given, the server must answer that input with exactly that map. pytest itself expands a
separate `@PATH` argument into the file's lines, so the plugin documents `--sample-input=@PATH`
and `--sample-file PATH`; a one-line file expanded by pytest still reads right.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Sample:
    """One input the app accepts, and the output it must produce (None: any output)."""

    input: dict[str, Any]
    output: dict[str, Any] | None = None


class SampleError(ValueError):
    """A --sample-input value that is not a usable sample (a usage error)."""


def parse_samples(values: Iterable[str], files: Iterable[str] = ()) -> tuple[Sample, ...]:
    """Every sample the `--sample-input` values and `--sample-file` paths name, in order."""
    samples: list[Sample] = []
    for value in values:
        samples.extend(_parse_one(value))
    for path in files:
        samples.extend(_parse_one("@" + path))
    return tuple(samples)


def _parse_one(value: str) -> list[Sample]:
    if value.startswith("@"):
        path = value[1:]
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except OSError as exc:
            raise SampleError(f"--sample-input {value}: cannot read the file: {exc}") from None
        except ValueError as exc:
            raise SampleError(f"--sample-input {value}: not JSON: {exc}") from None
        return _from_document(data, value)
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise SampleError(f"--sample-input {value!r}: not JSON: {exc}") from None
    return _from_document(data, f"--sample-input {value!r}")


def _from_document(data: Any, where: str) -> list[Sample]:
    if isinstance(data, dict) and set(data) == {"samples"}:
        cases = data["samples"]
        if not isinstance(cases, list) or not cases:
            raise SampleError(f"{where}: `samples` is a non-empty array")
        return [_case(case, f"{where} samples[{i}]") for i, case in enumerate(cases)]
    if isinstance(data, dict):
        return [Sample(data)]
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        return [Sample(item) for item in data]
    raise SampleError(
        f"{where}: expected an input (a JSON object: a msgpack map), an array of inputs, "
        'or {"samples": [{"input": {...}, "output": {...}}]}'
    )


def _case(case: Any, where: str) -> Sample:
    if not isinstance(case, dict) or "input" not in case or set(case) - {"input", "output"}:
        raise SampleError(f"{where}: a sample is {{'input': {{...}}, 'output': {{...}}}}")
    inp, out = case["input"], case.get("output")
    if not isinstance(inp, dict) or not (out is None or isinstance(out, dict)):
        raise SampleError(f"{where}: `input` and `output` are JSON objects (msgpack maps)")
    return Sample(inp, out)
