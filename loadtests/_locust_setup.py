"""Wire the load tests into Locust: options, defaults, scenarios, latency reports (load tests).

`install(events)` is called once by `loadtests/locustfile.py`; importing this module does
nothing. It:

* reads `loadtests/locust.conf` as a default config file (so `locust -f loadtests` alone binds
  the web UI to 127.0.0.1 and targets ws://127.0.0.1:8765), below ./locust.conf and the CLI;
* adds the options `--rate-per-user`, `--payload-rate`, `--idle-interval`, `--reply-timeout`,
  `--latency-prefix`, and for a user's own app `--sample-input`, `--sample-file` and
  `--realtime-path` (read by `workload`);
* gives every headless run a time limit (`DEFAULT_RUN_TIME_S` when none was set);
* runs only the default scenario when neither user classes nor tags were chosen, and drops the
  user classes that a tag selection leaves without tasks;
* records every request Locust sees into a `LatencyRecorder`; workers send theirs to the master
  with each stats report and once more when they stop; the master adds them up;
* at the end of every run prints the microsecond table and writes `<prefix>_latency_us.json`
  and `.csv`; the web UI gets a live "Latency (µs)" tab, a CSV download and `/latency-us`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loadtests._recorder import LatencyRecorder

if TYPE_CHECKING:
    from conformance.production.samples import Sample

CONFIG_FILE = Path(__file__).with_name("locust.conf")
DEFAULT_RUN_TIME_S = 60
DEFAULT_RESULTS_PREFIX = "loadtest_results/locust"
DEFAULT_USER_CLASSES = ("PacedRealtimeUser",)
MESSAGE_TYPE = "rt_latency"
REPORT_KEY = "rt_latency"

logger = logging.getLogger("loadtests")
console = logging.getLogger("locust.stats_logger")  # where Locust prints its own tables

recorder = LatencyRecorder()
"""This process's samples (on a master: the sum of its workers')."""


class _State:
    """What the writer needs to know about the running process."""

    installed = False
    written: tuple[int, int] = (-1, -1)
    """(recorder version, Locust's request count) when the report was last written."""
    environment: Any = None
    run_started = False
    worker_prefix: str | None = None
    """A worker's own --latency-prefix (the master overwrites the option with its own)."""


def install(events: Any) -> None:
    """Register every listener on Locust's event hooks (idempotent)."""
    if _State.installed:
        return
    _State.installed = True
    events.init_command_line_parser.add_listener(_add_options)
    events.init.add_listener(_on_init)
    events.request.add_listener(_on_request)
    events.test_start.add_listener(_on_test_start)
    events.reset_stats.add_listener(recorder.reset)
    events.report_to_master.add_listener(_on_report_to_master)
    events.worker_report.add_listener(_on_worker_report)
    events.test_stop.add_listener(_on_test_stop)
    events.quit.add_listener(_on_quit)


def _add_options(parser: Any, **_kwargs: Any) -> None:
    # Locust's own default files are ~/.locust.conf, ./locust.conf and ./pyproject.toml; ours
    # goes first so every one of them (and the command line) overrides it. configargparse keeps
    # the list in a private attribute, which Locust itself edits the same way.
    defaults = list(getattr(parser, "_default_config_files", []))
    if CONFIG_FILE.is_file() and str(CONFIG_FILE) not in defaults:
        parser._default_config_files = [str(CONFIG_FILE), *defaults]
    # Loopback even without that file (e.g. a wheel without package data); config files and
    # the command line still override these defaults.
    parser.set_defaults(web_host="127.0.0.1", master_bind_host="127.0.0.1")
    group = parser.add_argument_group("realtime load tests (loadtests/)")
    group.add_argument(
        "--rate-per-user",
        type=float,
        default=20.0,
        help="Round trips per second of each paced user (steady, new-connection, raw, HTTP).",
    )
    group.add_argument(
        "--payload-rate",
        type=float,
        default=2.0,
        help="Round trips per second of each large-payload user (64 KiB and 1 MiB).",
    )
    group.add_argument(
        "--idle-interval",
        type=float,
        default=5.0,
        help="Seconds between the requests of each mostly-idle connection.",
    )
    group.add_argument(
        "--reply-timeout",
        type=float,
        default=10.0,
        help="Seconds to wait for a handshake or a reply before counting a failure.",
    )
    group.add_argument(
        "--sample-input",
        action="append",
        default=[],
        help="Send this input (JSON object, or @FILE) instead of the conformance app's "
        '{"prompt": ...}; repeatable; a file may declare outputs: {"samples": [{"input": '
        '..., "output": ...}]}. Replies must then be a msgpack map (equal to the declared output).',
    )
    group.add_argument(
        "--sample-file",
        action="append",
        default=[],
        help="Like --sample-input @FILE; repeatable.",
    )
    group.add_argument(
        "--realtime-path",
        default="/realtime",
        help="The realtime endpoint's path (default /realtime); also names the requests.",
    )
    group.add_argument(
        "--latency-prefix",
        default=None,
        help="Write <prefix>_latency_us.json/.csv (default: the --csv prefix, else "
        f"{DEFAULT_RESULTS_PREFIX}).",
    )


def workload(options: Any) -> tuple[str, tuple[Sample, ...]]:
    """The realtime path and the sample inputs of this run (none: the conformance app's)."""
    path = "/" + str(getattr(options, "realtime_path", None) or "/realtime").strip("/")
    values, files = _listed(options, "sample_input"), _listed(options, "sample_file")
    if not values and not files:
        return path, ()
    key = (values, files)
    if key not in _samples_cache:
        from conformance.production.samples import parse_samples

        _samples_cache[key] = parse_samples(values, files)
    return path, _samples_cache[key]


def _listed(options: Any, name: str) -> tuple[str, ...]:
    """A repeatable option's values (the web UI's start form posts one string)."""
    value = getattr(options, name, None) or ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


_samples_cache: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[Sample, ...]] = {}


def _on_init(environment: Any, runner: Any, web_ui: Any = None, **_kwargs: Any) -> None:
    if runner is not None:
        _refresh_event_loop_clock()
    _State.environment = environment
    options = environment.parsed_options
    if options is not None:
        from conformance.production.samples import SampleError

        try:
            workload(options)  # a bad sample stops the run before any user starts
        except SampleError as exc:
            raise SystemExit(f"loadtests: {exc}") from None
    is_worker = _is_worker(runner)
    recorder.keep_pending = is_worker  # only a worker hands its samples on
    if is_worker and options is not None:
        _State.worker_prefix = options.latency_prefix
    if options is not None and not is_worker:
        if (options.headless or options.autostart) and not options.run_time:
            options.run_time = DEFAULT_RUN_TIME_S
            logger.warning("No --run-time given: stopping after %d s.", DEFAULT_RUN_TIME_S)
        _select_user_classes(environment, options)
    if _is_master(runner):
        runner.register_message(MESSAGE_TYPE, _on_worker_message)
    if web_ui is not None:
        _extend_web_ui(web_ui, environment)


UI_TAB = "latency-us"
UI_COLUMNS = (
    ("type", "Type"),
    ("name", "Name"),
    ("requests", "# Requests"),
    ("failures", "# Fails"),
    ("min_us", "Min (µs)"),
    ("p50_us", "p50 (µs)"),
    ("p90_us", "p90 (µs)"),
    ("p99_us", "p99 (µs)"),
    ("p999_us", "p99.9 (µs)"),
    ("max_us", "Max (µs)"),
)


def _extend_web_ui(web_ui: Any, environment: Any) -> None:
    """A "Latency (µs)" tab with the live table, its CSV among the downloads, and the JSON."""
    from flask import Response, request  # Locust's web UI is Flask; only needed with a UI

    web_ui.template_args["extended_tabs"] = [{"title": "Latency (µs)", "key": UI_TAB}]
    web_ui.template_args["extended_tables"] = [
        {"key": UI_TAB, "structure": [{"key": k, "title": t} for k, t in UI_COLUMNS]}
    ]
    web_ui.template_args["extended_csv_files"] = [
        {"href": "./latency-us/csv", "title": "Download round-trip latency (µs) CSV"}
    ]

    def ui_rows() -> list[dict[str, object]]:
        rows = recorder.rows()
        for row in rows:
            row["p999_us"] = row.pop("p99.9_us")  # the UI's keys may not contain a dot
        return rows

    def add_latency(response: Any) -> Any:
        # Locust's UI polls /stats/requests; extra tabs read "extended_stats" from it.
        if request.path.endswith("/stats/requests") and response.is_json:
            body = {**response.json, "extended_stats": [{"key": UI_TAB, "data": ui_rows()}]}
            response.set_data(json.dumps(body))
        return response

    def latency_csv() -> Any:
        headers = {"Content-Disposition": "attachment; filename=latency_us.csv"}
        return Response(recorder.csv_text(), mimetype="text/csv", headers=headers)

    web_ui.app.after_request(add_latency)
    web_ui.app.add_url_rule(
        "/latency-us", "latency_us", lambda: recorder.to_json(_meta(environment))
    )
    web_ui.app.add_url_rule("/latency-us/csv", "latency_us_csv", latency_csv)


def _refresh_event_loop_clock() -> None:
    # gevent's loop caches "now" and refreshes it only when the hub runs. Locust starts the
    # --run-time timer before the hub has run since start-up (imports, option parsing), so
    # the timer is short by the start-up time: "-t 3s" stopped after 1.9 s here, and "-t 1s"
    # could stop before the first request. Refreshing the clock here makes -t exact.
    import gevent  # only inside a Locust process, which has imported it already

    gevent.get_hub().loop.update_now()


def _select_user_classes(environment: Any, options: Any) -> None:
    classes: list[Any] = environment.user_classes
    tags = set(options.tags) if options.tags else None
    exclude = set(options.exclude_tags) if options.exclude_tags else None
    if not options.user_classes and tags is None and exclude is None:
        chosen = [c for c in classes if c.__name__ in DEFAULT_USER_CLASSES]
        if chosen:
            logger.info(
                "No user class or tag chosen: running %s (see loadtests/README.md for the others).",
                ", ".join(DEFAULT_USER_CLASSES),
            )
            classes[:] = chosen
        return
    kept = [c for c in classes if _has_tasks(c.tasks, tags, exclude)]
    if not kept:
        raise SystemExit(f"no user class has a task matching tags {tags} minus {exclude}")
    classes[:] = kept


def _has_tasks(tasks: Iterable[Any], tags: set[str] | None, exclude: set[str] | None) -> bool:
    for task in tasks:
        task_tags = set(getattr(task, "locust_tag_set", ()))
        if tags is not None and not task_tags & tags:
            continue
        if exclude is not None and task_tags & exclude:
            continue
        return True
    return False


def _on_request(
    request_type: str,
    name: str,
    response_time: float | None,
    exception: BaseException | None = None,
    **_kwargs: Any,
) -> None:
    recorder.record(request_type, name, response_time or 0.0, failed=exception is not None)


def _on_test_start(environment: Any, **_kwargs: Any) -> None:
    recorder.reset()
    _State.run_started = True
    _State.written = (-1, -1)


def _on_report_to_master(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
    data[REPORT_KEY] = recorder.drain()


def _on_worker_report(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
    recorder.merge_wire(data.get(REPORT_KEY, []))


def _on_worker_message(environment: Any, msg: Any, **_kwargs: Any) -> None:
    recorder.merge_wire(msg.data)


def _on_test_stop(environment: Any, **_kwargs: Any) -> None:
    runner = environment.runner
    if _is_worker(runner):
        # Hand over what was measured since the last stats report now, ahead of the
        # "client_stopped" message, so the master's report of this run is complete.
        if runner is not None and hasattr(runner, "send_message"):
            runner.send_message(MESSAGE_TYPE, recorder.drain())
        return
    options = environment.parsed_options
    if options is not None and options.headless:
        return  # a headless run reports once, after Locust's own final tables (quit)
    if _State.run_started:
        _report(environment)


def _on_quit(exit_code: int = 0, **_kwargs: Any) -> None:
    environment = _State.environment
    if environment is None:
        return
    if _is_worker(environment.runner):
        if _State.worker_prefix:  # asked for explicitly: this worker's own samples
            _report(environment, worker=True)
        return
    # Rewrite when anything changed since the end-of-run report: late worker reports can
    # still move Locust's own totals (ours were flushed at stop), and the JSON quotes them.
    if _State.run_started and _written_state(environment) != _State.written:
        _report(environment)


def _report(environment: Any, *, worker: bool = False) -> None:
    prefix = _prefix(environment.parsed_options)
    if worker:
        prefix = f"{_State.worker_prefix}_worker{os.getpid()}"
    meta = _meta(environment)
    json_path, csv_path = recorder.write(prefix, meta)
    _State.written = _written_state(environment)
    if not worker:
        # With --json Locust's stdout is machine-readable: keep the table on the log (stderr).
        out = logger if getattr(environment.parsed_options, "json", False) else console
        out.info("\n%s\nLatency report: %s, %s\n", recorder.table(), json_path, csv_path)


def _written_state(environment: Any) -> tuple[int, int]:
    return (recorder.version, int(environment.stats.total.num_requests))


def _prefix(options: Any) -> str:
    if options is None:
        return DEFAULT_RESULTS_PREFIX
    return str(options.latency_prefix or options.csv_prefix or DEFAULT_RESULTS_PREFIX)


def _meta(environment: Any) -> dict[str, object]:
    runner = environment.runner
    return {
        "host": environment.host,
        "role": "worker" if _is_worker(runner) else "master" if _is_master(runner) else "local",
        "user_classes": sorted(c.__name__ for c in environment.user_classes),
        "locust_total_requests": environment.stats.total.num_requests,
        "locust_total_failures": environment.stats.total.num_failures,
    }


def _is_worker(runner: Any) -> bool:
    return type(runner).__name__ == "WorkerRunner"


def _is_master(runner: Any) -> bool:
    return type(runner).__name__ == "MasterRunner"
