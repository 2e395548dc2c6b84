"""The scripted cases a client under test is run against (spec chapter 13, client adapter contract).

Each case names the inputs the adapter sends (RT_INPUTS), the credentials and path it is given,
and the script the server plays (`conformance.client_mode.scripts`). The cases are grouped by
what they exercise: sessions and app ids, error frames, control frames and wire encodings,
credentials, and the end of the session.
"""

from __future__ import annotations

import json

from conformance.client_mode import scripts as s
from conformance.client_mode.case_model import KEY, SPECIAL_TOKEN, TOKEN, Case, outputs, prompts
from conformance.client_mode.ext_cases import ext_case_list
from conformance.client_mode.scripts import (
    BURST,
    DEEP_OUTPUT_HEX,
    DEEP_OUTPUT_JSON,
    LOOKALIKE_OUTPUTS,
    MALFORMED_HEX,
    MIB,
    PROFILE_OUTPUT_HEX,
    PROFILE_OUTPUT_JSON,
    UNKNOWN_ERROR_CODE,
    large_text,
    lenient_decode,
)
from conformance.client_mode.vector_cases import vector_case_list

__all__ = [
    "CASES",
    "DEEP_OUTPUT_HEX",
    "KEY",
    "MALFORMED_HEX",
    "MIB",
    "PROFILE_OUTPUT_HEX",
    "SPECIAL_TOKEN",
    "TOKEN",
    "UNKNOWN_ERROR_CODE",
    "Case",
    "get_case",
    "inputs_json",
    "large_text",
    "lenient_decode",
]


def _session_cases() -> list[Case]:
    """Sessions that go well: echo, bursts, app ids, paths, streaming, deflate, pings, silence."""
    words = [f"w{i}" for i in range(BURST)]
    return [
        Case(
            "echo",
            "Echoes three inputs in order, then closes 1000.",
            prompts("a", "b", "c"),
            s.echo_then_close(3),
            expected_outputs=outputs("a", "b", "c"),
        ),
        Case(
            "burst",
            f"Answers nothing until all {BURST} inputs arrived, then echoes them.",
            prompts(*words),
            s.burst,
            input_wait=2.0,
            expected_outputs=outputs(*words),
        ),
        Case(
            "namespaced-app-id",
            "The app id has a namespace: workflows/local/conformance-app.",
            prompts("a"),
            s.echo_then_close(1),
            app_id="workflows/local/conformance-app",
            expected_outputs=outputs("a"),
        ),
        Case(
            "legacy-app-id",
            "The app id has the legacy form 12345-conformance-app.",
            prompts("a"),
            s.echo_then_close(1),
            app_id="12345-conformance-app",
            expected_outputs=outputs("a"),
        ),
        Case(
            "app-id-ends-with-realtime",
            "The app id ends with /realtime and RT_PATH is empty.",
            prompts("a"),
            s.echo_then_close(1),
            app_id="local/conformance-app/realtime",
            path="",
            expected_outputs=outputs("a"),
        ),
        Case(
            "server-streaming",
            "Streams three outputs for one input, then TIMEOUT.",
            [{"prompt": "s", "count": 3}],
            s.server_streaming,
            path="/realtime/stream",
            expected_outputs=outputs("s-0", "s-1", "s-2"),
        ),
        Case(
            "deflate-accepted",
            "Accepts permessage-deflate and echoes three inputs.",
            prompts("a", "b", "c"),
            s.echo_then_close(3),
            accept_deflate=True,
            expected_outputs=outputs("a", "b", "c"),
        ),
        Case(
            "never-answers",
            "Reads inputs and never answers nor closes.",
            prompts("a"),
            s.never_answers,
            recv_timeout=1.0,
        ),
        Case(
            "ping",
            "Pings the client before answering.",
            prompts("a"),
            s.ping,
            expected_outputs=outputs("a"),
        ),
    ]


def _error_cases() -> list[Case]:
    """Error frames the client must report, or treat as the normal end (TIMEOUT)."""
    return [
        Case(
            "error-internal",
            "Answers one input, then INTERNAL_ERROR and close 1000.",
            prompts("a", "b"),
            s.error_internal,
            expected_outputs=outputs("a"),
        ),
        Case(
            "error-extra-members",
            "An INTERNAL_ERROR frame with members the client cannot know.",
            prompts("a"),
            s.error_extra_members,
            expected_outputs=outputs("a"),
        ),
        Case(
            "error-unknown-code",
            "Answers one input, then an error code the client cannot know.",
            prompts("a"),
            s.error_unknown_code,
            expected_outputs=outputs("a"),
        ),
        Case(
            "error-invalid-input",
            "INVALID_INPUT for the 2nd of three inputs; the session goes on.",
            prompts("a", "b", "c"),
            s.error_invalid_input,
            expected_outputs=outputs("a", "c"),
        ),
        Case(
            "legacy-error",
            'Answers one input, then a legacy {"status": "error"} text frame.',
            prompts("a"),
            s.legacy_error,
            expected_outputs=outputs("a"),
        ),
        Case(
            "timeout-end",
            "Answers one input, then ends the session: TIMEOUT and close 1000.",
            prompts("a"),
            s.echo_then_timeout(1),
            expected_outputs=outputs("a"),
        ),
    ]


def _wire_cases() -> list[Case]:
    """Control frames and wire encodings (every msgpack type) the client must handle."""
    return [
        Case(
            "types",
            "Echoes one input holding every msgpack type back inside the output.",
            [
                {
                    "s": "h\u00e9llo",
                    "i": -5,
                    "u": 2**32,
                    "f": 0.5,
                    "t": True,
                    "n": None,
                    "b": {"$bytes": "00ff10"},
                    "a": [1, "x", {"$bytes": ""}],
                    "m": {"k": 1.25},
                }
            ],
            s.types,
        ),
        Case(
            "x-fal-message",
            "x-fal-message frames (timings, unknown action) around outputs.",
            prompts("a", "b"),
            s.x_fal_message,
            expected_outputs=outputs("a", "b"),
        ),
        Case(
            "unknown-control",
            "Sends a text frame of an unknown type and a non-JSON text frame.",
            prompts("a"),
            s.unknown_control,
            expected_outputs=outputs("a"),
        ),
        Case(
            "control-lookalike-outputs",
            "Binary outputs that look like control frames.",
            prompts("a"),
            s.lookalike_outputs,
            expected_outputs=list(LOOKALIKE_OUTPUTS),
        ),
        Case(
            "receive-profile",
            "One output holding every profile value (written as hex).",
            prompts("a"),
            s.raw_outputs(PROFILE_OUTPUT_HEX),
            expected_outputs=[PROFILE_OUTPUT_JSON],
        ),
        Case(
            "deep-output",
            "One output nested 64 levels deep.",
            prompts("a"),
            s.raw_outputs(DEEP_OUTPUT_HEX),
            expected_outputs=[DEEP_OUTPUT_JSON],
        ),
        Case(
            "malformed-outputs",
            "Malformed messages: trailing bytes, c1, empty, truncated.",
            prompts("a"),
            s.raw_outputs(*MALFORMED_HEX, "81a66f7574707574a26f6b"),
        ),
        Case(
            "fragmented-output",
            "One output sent as three fragments.",
            prompts("a"),
            s.fragmented,
            expected_outputs=[{"output": "f"}],
        ),
        Case("output-1mib", "Answers with one output of 1 MiB.", prompts("a"), s.large_output(MIB)),
        Case(
            "output-16mib",
            "Answers with one output of 16 MiB.",
            prompts("a"),
            s.large_output(16 * MIB),
        ),
    ]


def _auth_cases() -> list[Case]:
    """Credentials: tokens, keys, the token endpoint and a refused handshake."""
    return [
        Case(
            "auth-token",
            "The adapter is given a token (RT_TOKEN).",
            prompts("a"),
            s.echo_then_close(1),
            token=TOKEN,
            expected_outputs=outputs("a"),
        ),
        Case(
            "auth-token-special",
            "The token holds characters that need percent-encoding.",
            prompts("a"),
            s.echo_then_close(1),
            token=SPECIAL_TOKEN,
            expected_outputs=outputs("a"),
        ),
        Case(
            "auth-key-header",
            "The adapter is given a key (RT_KEY) and no token endpoint.",
            prompts("a"),
            s.echo_then_close(1),
            key=KEY,
            expected_outputs=outputs("a"),
        ),
        Case(
            "auth-key",
            "The adapter is given a key and a token endpoint answering a JSON string.",
            prompts("a"),
            s.echo_then_close(1),
            key=KEY,
            token_shape="string",
            expected_outputs=outputs("a"),
        ),
        Case(
            "auth-key-token-object",
            'As auth-key; the token endpoint answers {"token": ...}.',
            prompts("a"),
            s.echo_then_close(1),
            key=KEY,
            token_shape="object",
            expected_outputs=outputs("a"),
        ),
        Case(
            "token-endpoint-fails",
            "The token endpoint answers 401.",
            prompts("a"),
            s.echo_then_close(1),
            key=KEY,
            token_shape="fail",
        ),
        Case(
            "refused-401",
            "Refuses the handshake with HTTP 401.",
            prompts("a"),
            s.echo_then_close(1),
            key=KEY,
            refuse_status=401,
        ),
    ]


def _ending_cases() -> list[Case]:
    """The end of the session: close codes and a dropped connection."""
    return [
        Case(
            "abrupt-close",
            "Answers one input, then drops TCP with no close frame.",
            prompts("a", "b"),
            s.abrupt,
            expected_outputs=outputs("a"),
        ),
        *(
            Case(
                f"close-{code}",
                f"Answers one input, then closes with {code}.",
                prompts("a"),
                s.echo_then_close(1, code),
                expected_outputs=outputs("a"),
            )
            for code in (1001, 1008, 1011)
        ),
    ]


def _case_list() -> list[Case]:
    """Every case, group by group."""
    groups = (_session_cases, _error_cases, _wire_cases, _auth_cases, _ending_cases)
    return [case for group in groups for case in group()]


CASES: dict[str, Case] = {case.name: case for case in _case_list()}


# The cases built from the spec's vectors (spec 1.1; `vector_cases`).
CASES.update((case.name, case) for case in vector_case_list())

# The extension-channel cases (spec 1.1 chapter 15; `ext_cases`).
CASES.update((case.name, case) for case in ext_case_list())


def get_case(name: str) -> Case:
    """Look a case up by name; a KeyError names the known cases."""
    try:
        return CASES[name]
    except KeyError:
        raise KeyError(f"unknown case {name!r}; known: {', '.join(sorted(CASES))}") from None


def inputs_json(case: Case) -> str:
    """The RT_INPUTS value for ``case``."""
    return json.dumps(case.inputs)
