"""The extension-channel cases: the adapter is told to opt in with RT_EXTENSIONS (spec 15).

Only these cases set RT_EXTENSIONS; every other case is a 1.0 session on which the client must
send no ``rt_ext`` and no extension frame (RT-EXT-006). An adapter claims the channel by
printing an ``extensions`` record (spec 13.3); without one the checks are not applicable.
"""

from __future__ import annotations

from conformance.client_mode import ext_scripts as x
from conformance.client_mode.case_model import Case, outputs, prompts

# What each case's client is asked for: more than the server enables, so that the client must
# read the hello to know which are on (RT-EXT-007).
ASK_ALL = ("end-of-input", "end-of-output", "correlation")


def ext_case_list() -> list[Case]:
    """The extension cases, each on its own scripted server."""
    return [
        Case(
            "ext-end-of-input",
            "Opts in to end-of-input; the hello comes after the first input.",
            prompts("a", "b"),
            x.end_of_input_session,
            extensions=("end-of-input", "end-of-output"),
            expected_outputs=outputs("a", "b"),
            # The server gives up on the first input well before the client's own wait for a
            # message (recv_timeout) ends: a client that waits for the hello before sending
            # reaches the server with nothing (RT-EXT-008), never with inputs that merely
            # came late because both waits were equal.
            input_wait=2.0,
        ),
        Case(
            "ext-end-of-output",
            "Enables end-of-output; ends with end-of-output complete and 1000.",
            prompts("a"),
            x.end_of_output_session,
            extensions=("end-of-output",),
            expected_outputs=outputs("a"),
        ),
        Case(
            "ext-correlation",
            "Enables correlation (not end-of-input); answers inputs 2, 1 (error), 0.",
            prompts("a", "b", "c"),
            x.correlation_session,
            extensions=ASK_ALL,
            expected_outputs=outputs("c", "a"),
        ),
        Case(
            "ext-heartbeat",
            "Enables heartbeat (interval 1 s); answers one input, then goes silent.",
            prompts("a"),
            x.heartbeat_session,
            extensions=("heartbeat",),
            recv_timeout=8.0,
            expected_outputs=outputs("a"),
        ),
        Case(
            "ext-old-server",
            "Asks for extensions of a 1.0 server: no hello, TIMEOUT and 1000.",
            prompts("a"),
            x.old_server(1),
            extensions=ASK_ALL,
            expected_outputs=outputs("a"),
        ),
    ]
