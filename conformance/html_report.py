"""A self-contained HTML conformance report: one file, no network (spec chapter 13).

Rendered from the JSON report document: the verdict of the run, one row per requirement (level,
profile, verdict, text, the checks behind it), filters by level, profile and verdict, and for
each failure or warning its message, frame trace and reproduce command. Inline CSS and script
only; nothing is fetched. Standard library only.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:4px 6px;
vertical-align:top;text-align:left}th{background:#f3f3f3}pre{white-space:pre-wrap;
background:#f8f8f8;padding:6px;font-size:12px;margin:4px 0}
.v-pass{color:#176117}.v-fail,.v-error{color:#a40000;font-weight:bold}.v-warn{color:#8a5a00;
font-weight:bold}.v-not-applicable,.v-not-covered{color:#666}
.banner{padding:8px 12px;font-size:16px;font-weight:bold;margin:0 0 1em}
.ok{background:#e3f6e3}.bad{background:#fbe3e3}label{margin-right:1em}
"""

_SCRIPT = """
function applyFilters(){
  var f={};document.querySelectorAll('select[data-filter]').forEach(function(s){
    f[s.dataset.filter]=s.value;});
  var shown=0;document.querySelectorAll('tr[data-verdict]').forEach(function(r){
    var ok=Object.keys(f).every(function(k){return !f[k]||r.dataset[k]===f[k];});
    r.hidden=!ok;if(ok){shown++;}});
  document.getElementById('shown').textContent=shown;
}
document.querySelectorAll('select[data-filter]').forEach(function(s){
  s.addEventListener('change',applyFilters);});
applyFilters();
"""

FILTERS = (
    ("level", ("MUST", "SHOULD", "MAY")),
    ("profile", ("core", "robust")),
    ("verdict", ("pass", "fail", "warn", "error", "not-applicable", "not-covered")),
)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _check_details(check: Mapping[str, Any]) -> str:
    """A check's outcome; failures, warnings and errors open to message, trace, reproduce."""
    name = check["nodeid"].rsplit("::", 1)[-1]
    outcome = check["outcome"]
    label = f'<span class="v-{_e(outcome)}">{_e(outcome)}</span> <code>{_e(name)}</code>'
    if outcome not in ("fail", "warn", "error"):
        return f"<div>{label}</div>"
    parts = [f"<pre>{_e(check.get('message', ''))}</pre>"]
    if check.get("trace"):
        parts.append(f"<b>frame trace</b><pre>{_e(check['trace'])}</pre>")
    if check.get("repro"):
        parts.append(f"<b>reproduce</b><pre>{_e(check['repro'])}</pre>")
    return f"<details><summary>{label}</summary>{''.join(parts)}</details>"


def _row(req_id: str, entry: Mapping[str, Any], checks: Mapping[str, Mapping[str, Any]]) -> str:
    verdict = entry["verdict"]
    cells = [
        f'<td><a id="{_e(req_id.lower())}"></a><b>{_e(req_id)}</b>'
        f"<br><small>{_e(entry.get('link', ''))}</small></td>",
        f"<td>{_e(entry['level'])}</td>",
        f"<td>{_e(entry.get('profile', ''))}</td>",
        f'<td class="v-{_e(verdict)}">{_e(verdict)}</td>',
        f"<td>{_e(entry.get('text', ''))}</td>",
        "<td>"
        + "".join(
            _check_details(checks.get(c["check"], {"nodeid": c["check"], "outcome": c["outcome"]}))
            for c in entry["checks"]
        )
        + (f"<small>{_e(entry['note'])}</small>" if entry.get("note") else "")
        + "</td>",
    ]
    return (
        f'<tr data-level="{_e(entry["level"])}" data-profile="{_e(entry.get("profile", ""))}" '
        f'data-verdict="{_e(verdict)}">{"".join(cells)}</tr>'
    )


def _filters() -> str:
    out = []
    for name, values in FILTERS:
        options = '<option value="">all</option>' + "".join(
            f'<option value="{_e(v)}">{_e(v)}</option>' for v in values
        )
        out.append(f'<label>{name} <select data-filter="{name}">{options}</select></label>')
    return "<p>" + "".join(out) + ' <span id="shown"></span> shown</p>'


def render(document: Mapping[str, Any]) -> str:
    """The whole HTML page for one report document."""
    target = document["target"]
    summary = document["summary"]
    conformant = summary["conformant"]
    checks = {c["nodeid"]: c for c in document["checks"]}
    counts = ", ".join(f"{n} {v}" for v, n in summary["requirements"].items() if n)
    rows = "\n".join(_row(r, e, checks) for r, e in document["requirements"].items())
    title = f"Conformance report: {target.get('name') or target['url']}"
    banner = "conformant" if conformant else "NOT conformant"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{_e(title)}</h1>
<p class="banner {"ok" if conformant else "bad"}">{_e(banner)} (every MUST passed, no errors) at
level {_e(document["level"])}</p>
<ul><li>Target: <code>{_e(target["url"])}</code>{
        " (the embedded reference server)" if target.get("embedded_reference") else ""
    }</li>
<li>Declared features: {_e(", ".join(target.get("features", [])) or "(none)")}</li>
<li>Suite {_e(document["suite"]["name"])} {_e(document["suite"]["version"])}; spec version
{_e(document["spec_version"])}</li>
<li>Requirements: {_e(counts)}</li></ul>
{_filters()}
<table><thead><tr><th>requirement</th><th>level</th><th>profile</th><th>verdict</th>
<th>text</th><th>checks</th></tr></thead><tbody>
{rows}
</tbody></table>
<script>{_SCRIPT}</script>
</body></html>
"""


def write(path: str | Path, document: Mapping[str, Any]) -> None:
    """Write the HTML report of `document` to `path`."""
    Path(path).write_text(render(document), "utf-8")
