"""Layering guards, read from the source with `ast` (DESIGN: sans-I/O core, one-way imports).

- conformance/ imports reference/ only in its client adapters;
- reference/core/ imports no I/O (no asyncio, sockets, threads, clocks, I/O libraries);
- reference/server/ has no import inside a function (the old way of hiding a cycle);
- neither reference/ nor conformance/ has an import cycle (type-only imports aside);
- `import reference.client` loads neither the server nor pydantic.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = "conformance.client_mode.adapters"
IO_MODULES = {
    "asyncio", "socket", "selectors", "ssl", "threading", "subprocess", "time", "concurrent",
    "multiprocessing", "signal", "websockets", "httptools", "uvloop", "pydantic", "picows",
}  # fmt: skip


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, name: str) -> list[tuple[str, bool]]:
    """(imported module, inside a function) for every run-time import of a module."""
    found: list[tuple[str, bool]] = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other, in_function)
                continue
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.append((base, in_function))
                found.extend((f"{base}.{alias.name}", in_function) for alias in child.names)
            visit(child, nested)

    visit(ast.parse(path.read_text(), str(path)), False)
    return found


def graph(package: str) -> dict[str, set[str]]:
    """Edges between the modules of `package` (a `from a import b` names a.b if it is one)."""
    known = modules(package)
    return {
        name: {target for target, _ in imports(path, name) if target in known and target != name}
        for name, path in known.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(edges.get(node, ())):
            if succ not in index:
                strongconnect(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            strongconnect(node)
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", ["reference", "conformance"])
def test_no_import_cycles(package: str) -> None:
    assert cycles(graph(package)) == []


def test_conformance_imports_reference_only_in_its_adapters() -> None:
    offenders = [
        f"{name} imports {target}"
        for name, path in modules("conformance").items()
        if not name.startswith(ADAPTERS)
        for target, _ in imports(path, name)
        if target == "reference" or target.startswith("reference.")
    ]
    assert offenders == []


def test_core_imports_no_io() -> None:
    offenders = [
        f"{name} imports {target}"
        for name, path in modules("reference/core").items()
        for target, _ in imports(path, name)
        if target.split(".")[0] in IO_MODULES
        or (target.startswith("reference.") and not target.startswith("reference.core"))
    ]
    assert offenders == []


def test_server_has_no_imports_inside_functions() -> None:
    offenders = [
        f"{name} imports {target} in a function"
        for name, path in modules("reference/server").items()
        for target, in_function in imports(path, name)
        if in_function
    ]
    assert offenders == []


def test_import_reference_client_loads_neither_the_server_nor_pydantic() -> None:
    code = (
        "import sys, reference.client\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('reference.server', 'pydantic',"
        " 'reference.app')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == ""


def test_reference_modules_and_functions_stay_small() -> None:
    """STYLE: no module over 400 lines, no function over 80 lines."""
    offenders = []
    for name, path in modules("reference").items():
        text = path.read_text()
        if text.count("\n") > 400:
            offenders.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > 80:
                    offenders.append(f"{name}.{node.name}: {size} lines")
    assert offenders == []


#: Underscore names of the standard library that are allowed: asyncio's task bookkeeping (what
#: 3.12's eager tasks call, for the inline unary step in realtime.py, issue 14) and `os._exit`
#: (a forked worker must exit without running the parent's cleanup, workers.py).
STDLIB_UNDERSCORE_API = {"asyncio.tasks._enter_task", "asyncio.tasks._leave_task", "os._exit"}


def test_server_modules_use_no_private_member_of_another_object() -> None:
    """Drivers talk to the connection through `Channel`, never through its private members."""
    offenders = []
    for name, path in modules("reference/server").items():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                and ast.unparse(node) not in STDLIB_UNDERSCORE_API
            ):
                offenders.append(f"{name}:{node.lineno} uses .{node.attr}")
    assert offenders == []
