"""The integration's modules import one way: no circle, the engine imports none.

Imports under `TYPE_CHECKING` count: a type-only circle is still two modules
that each need the other to be understood.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "custom_components" / "iotitan"


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE).with_suffix("")
    parts = [part for part in relative.parts if part != "__init__"]
    return ".".join(parts) or "__init__"


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (relative imports)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name.rsplit(".", 1)[0] if "." in name else ""
        if path.name == "__init__.py":
            package = name if name != "__init__" else ""
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*base, *(node.module or "").split(".")]).strip(".")
                candidates = [target] + [
                    f"{target}.{alias.name}".strip(".") for alias in node.names
                ]
                imported.update(c for c in candidates if c in modules)
        graph[name] = imported - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, if there is any."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for child in sorted(graph.get(node, ())):
            if (cycle := visit(child)) is not None:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        if (cycle := visit(node)) is not None:
            return cycle
    return None


def test_the_import_graph_has_no_circle() -> None:
    graph = import_graph()
    assert "hub" in graph and "source" in graph["hub"]  # the graph was read
    assert find_cycle(graph) is None


def test_the_engine_imports_nothing_above_it() -> None:
    for module, imported in import_graph().items():
        if module.startswith("engine"):
            assert all(name.startswith("engine") for name in imported), module


def test_parts_below_the_hub_do_not_import_it() -> None:
    """The hub builds and wires its parts; they never reach back."""
    graph = import_graph()
    for part in ("source", "alert_runtime", "mqtt_output", "channel", "message_log"):
        assert "hub" not in graph[part], part


# The config flows store and check settings and run nothing: they import what is
# stored (models, const), the engine, their form and label helpers and the
# ThingSpeak helpers that need Home Assistant, never a runtime part (hub,
# sources, alerts, channels, MQTT output, logging).
FLOW_IMPORTS = {"models", "const", "form", "names", "channel_helpers", "mqtt_encoding"}
# What those import in turn besides each other and the engine: device
# identifiers (channel_helpers reads the topics of the registry's devices).
FLOW_HELPER_IMPORTS = FLOW_IMPORTS | {"device"}


def imported_by(graph: dict[str, set[str]], module: str) -> set[str]:
    """Every module `module` imports, directly or through others."""
    found: set[str] = set()
    pending = [module]
    while pending:
        for name in graph[pending.pop()] - found:
            found.add(name)
            pending.append(name)
    return found


def test_the_config_flow_imports_only_models_const_engine_and_flow_helpers() -> None:
    imported = import_graph()["config_flow"]
    assert {"models", "channel_helpers", "engine.alerts"} <= imported  # read
    assert {name for name in imported if not name.startswith("engine")} <= (
        FLOW_IMPORTS
    )


def test_the_flow_helpers_import_no_runtime_part() -> None:
    """Not directly, not through another module (models included)."""
    graph = import_graph()
    for helper in ("config_flow", *FLOW_IMPORTS):
        beyond = {
            name for name in imported_by(graph, helper) if not name.startswith("engine")
        } - FLOW_HELPER_IMPORTS
        assert beyond == set(), helper


def test_what_a_module_imports_through_others_is_found() -> None:
    """The check itself can fail."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert imported_by(graph, "a") == {"a", "b", "c"}
    assert imported_by(graph, "d") == set()


def test_a_circle_is_found() -> None:
    """The check itself can fail."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
