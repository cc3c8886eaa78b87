"""The shape of the code, checked: imports point one way (no circles, counting the imports made
inside functions), an import inside a function says why it must be late, and no module of the
package is over 600 lines.

The import graph is read from the source with :mod:`ast`, so what is checked is what the code
says, not what happened to be imported by the time a test ran. Imports under
``if TYPE_CHECKING:`` never run and are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "training_tracker"
MAX_LINES = 600


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a submodule when the name is one, else the package)
    line: int
    late: bool  # inside a function
    explained: bool  # a comment on the import's line or the line above


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.AST, bool, ast.AST | None]]:
    """Every statement with whether it runs inside a function and the statement before it in
    the same block (so that one comment can explain a block of late imports)."""
    previous: ast.AST | None = None
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for sibling in child.orelse:
                yield sibling, in_function, None
                yield from _walk(sibling, in_function)
            previous = child
            continue
        late = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
        yield child, in_function, previous
        yield from _walk(child, late)
        previous = child


def imports_of(name: str, path: Path, known: dict[str, Path]) -> list[Import]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    is_package = path.name == "__init__.py"
    found: list[Import] = []
    explained_lines: set[int] = set()
    for node, late, previous in _walk(ast.parse(source), in_function=False):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            targets = [
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
                for alias in node.names
            ]
        else:
            continue
        line = node.lineno
        # A comment on the line or just above; or the import continues a block of imports
        # whose first one is explained.
        explained = (
            "#" in lines[line - 1]
            or lines[line - 2].strip().startswith("#")
            or (
                isinstance(previous, ast.Import | ast.ImportFrom)
                and previous.lineno in explained_lines
            )
        )
        if explained:
            explained_lines.add(line)
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.append(Import(name, target, line, late, explained))
    return found


def import_graph() -> list[Import]:
    known = modules()
    return [found for name, path in known.items() for found in imports_of(name, path, known)]


def circles(edges: list[Import]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_between_modules() -> None:
    assert circles(import_graph()) == []


def test_every_import_inside_a_function_says_why_it_is_late() -> None:
    unexplained = [
        f"{edge.source}:{edge.line} imports {edge.target}"
        for edge in import_graph()
        if edge.late and not edge.explained
    ]
    assert unexplained == []


def test_no_module_is_over_600_lines() -> None:
    too_long = {
        name: count
        for name, path in modules().items()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}


def test_the_circle_check_finds_a_circle() -> None:
    edges = [Import("a", "b", 1, False, False), Import("b", "c", 1, True, True)]
    assert circles(edges) == []
    assert circles([*edges, Import("c", "a", 3, True, True)]) == [["a", "b", "c"]]


# The domain packages of services/, from the bottom up: a package imports only those before it.
LAYERS = [
    "core",
    "messaging",
    "training",
    "people",
    "programme",
    "compliance",
    "reporting",
    "imports",
]


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 3 and parts[1] == "services" else None


def test_the_service_packages_import_only_downwards() -> None:
    upwards = [
        f"{edge.source}:{edge.line} imports {edge.target}"
        for edge in import_graph()
        if (source := _layer(edge.source)) is not None
        and (target := _layer(edge.target)) is not None
        and LAYERS.index(target) > LAYERS.index(source)
    ]
    assert upwards == []


def test_every_service_module_is_in_a_layer() -> None:
    services = PACKAGE / "services"
    loose = [path.name for path in services.glob("*.py") if path.name != "__init__.py"]
    assert loose == []
    assert sorted(p.name for p in services.iterdir() if p.is_dir() and p.name != "__pycache__") == (
        sorted(LAYERS)
    )


def test_providers_use_the_toolkit_not_the_services() -> None:
    into_services = [
        f"{edge.source} imports {edge.target}"
        for edge in import_graph()
        if edge.source.startswith("training_tracker.providers")
        and edge.target.startswith("training_tracker.services")
    ]
    assert into_services == []
