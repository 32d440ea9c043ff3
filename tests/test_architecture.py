"""The import rules of ``docs/architecture.md``, checked on the source (every ``import``
statement, also those inside functions).

- Layers: a package imports only from itself and from packages of lower layers.
- ``rankwise.functional`` imports nothing from data, models, train or cli (nor anything
  above it but the registry and the errors).
- Nothing below ``train/`` reads configuration: no ``rankwise.train.config``, YAML or
  pydantic outside ``train/``, ``report/`` and ``cli/``.
- ``cli/`` holds no library code: its modules define ``register`` and ``run`` functions
  (and small helpers: private ones, ``add_*`` flag groups and ``*_from_args`` calls
  shared by commands), no classes.
- The module-level imports form an acyclic graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "rankwise"

# lowest first; a package may import from its own layer's packages only when listed here
LAYERS: list[set[str]] = [
    {"_version", "errors", "_hashing"},
    {"registry", "_optional"},
    {"functional"},
    {"losses", "data", "distributed", "aggregate"},
    {"metrics", "models"},
    {"runs"},
    {"text"},
    {"train"},
    {"serving"},
    {"report"},
    {"cli"},
    {"__init__"},  # the public surface re-exports from everything
]
LAYER = {package: i for i, layer in enumerate(LAYERS) for package in layer}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    """Every rankwise module (or name) ``path`` imports, and third-party top packages."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "rankwise":  # from rankwise import functional: a subpackage
                found |= {f"rankwise.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
    return found


def _package(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


SOURCES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_go_down_the_layers(path):
    own = _package(_module_name(path))
    for name in _imports(path):
        if not name.startswith("rankwise"):
            continue
        other = _package(name)
        assert other in LAYER, f"{name} is in no layer of the architecture"
        if other == own:
            continue
        assert LAYER[other] < LAYER[own], (
            f"{_module_name(path)} (layer {LAYER[own]}: {own}) imports {name} "
            f"(layer {LAYER[other]}: {other})"
        )


def test_functional_imports_nothing_from_higher_packages():
    forbidden = ("data", "models", "train", "cli", "losses", "metrics", "runs", "report")
    for path in (SRC / "functional").rglob("*.py"):
        for name in _imports(path):
            assert not any(name.startswith(f"rankwise.{p}") for p in forbidden), (path, name)


def test_nothing_below_train_reads_configuration():
    readers = ("train", "serving", "report", "cli", "__init__")
    for path in SOURCES:
        if _package(_module_name(path)) in readers:
            continue
        for name in _imports(path):
            assert name.split(".")[0] not in ("yaml", "pydantic"), (path, name)
            assert not name.startswith("rankwise.train"), (path, name)


def test_cli_modules_only_parse_arguments_and_call_the_library():
    for path in (SRC / "cli").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            assert not isinstance(node, ast.ClassDef), f"{path.name}: class {node.name}"
            if not isinstance(node, ast.FunctionDef):
                continue
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            public = node.name in ("register", "run", "main", "build_parser")
            public = public or node.name.startswith("run_")
            # shared by several commands: a group of flags (declarations only, of any
            # length), and turning those parsed flags into one library call
            if node.name.startswith("add_"):
                body = [n for n in node.body if not isinstance(n, ast.Expr | ast.Assign)]
                assert body == [], f"{path.name}: {node.name} does more than add flags"
                continue
            shared = node.name.endswith("_from_args")
            small = lines <= 30
            assert public or ((node.name.startswith("_") or shared) and small), (
                f"{path.name}: {node.name} ({lines} lines) looks like library code"
            )


def test_module_level_imports_are_acyclic():
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p): p for p in SOURCES}
    for module, path in modules.items():
        targets = set()
        for name in _imports(path, top_level_only=True):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            # a package's __init__ importing its own submodules is not a cycle through it
            if node == nxt.rpartition(".")[0] or nxt == "rankwise":
                continue
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
