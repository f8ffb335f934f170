"""Layers point down: the import graph of ``src/unimeter`` (read with ``ast``, nothing is
imported) fails the build when a lower layer imports a higher one.

Every import counts wherever it sits (module level, inside a function, under
``TYPE_CHECKING``): a deferred import is still a dependency. ARCHITECTURE.md draws the same
layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "unimeter"

# Top to bottom. A module belongs to the layer of its most specific pattern (``*`` stands
# for one package name); it may import its own layer and the layers below, never above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Entry points: the processes (CLI, ``python -m unimeter``), the demo's setup, and the
    # composition root (app.py) that registers every router, and its sync side (wiring.py:
    # every sync hook, what a command without HTTP imports).
    (
        "entry points",
        ("unimeter.__main__", "unimeter.cli", "unimeter.demo", "unimeter.app", "unimeter.wiring"),
    ),
    # HTTP surfaces: each package's routes module, the dashboard and the MCP server parse a
    # request and call services; nothing below them knows about HTTP.
    ("HTTP surfaces", ("unimeter.*.routes", "unimeter.web", "unimeter.mcp")),
    # The HTTP kit under the routes: error envelope, auth and account dependencies,
    # pagination, limits, the response cache. Only routes (and the app) use it.
    ("HTTP kit", ("unimeter.api",)),
    # Product packages: linking accounts through connectors, the answers over synced data,
    # exports, the Connect flow, the proxy.
    (
        "domains",
        (
            "unimeter.accounts",
            "unimeter.analytics",
            "unimeter.connect",
            "unimeter.exports",
            "unimeter.proxy",
            "unimeter.unified",
        ),
    ),
    # Services the domains build on; each stands alone on the runtime (rule below).
    (
        "services",
        (
            "unimeter.sync",
            "unimeter.webhooks",
            "unimeter.notifications",
            "unimeter.auth",
            "unimeter.observability",
        ),
    ),
    # What every service receives: the runtime, its settings, and the sync hooks it
    # carries (so sync/hooks.py sits below the rest of sync/).
    ("runtime", ("unimeter.runtime", "unimeter.config", "unimeter.sync.hooks")),
    # Vendors, behind the contract in connectors/ (see ONLY_FROM for what they may use).
    ("connectors", ("unimeter.connectors",)),
    # The tenancy kernel: environments, keyring, account rows, data version.
    ("tenancy", ("unimeter.tenancy",)),
    # The store: models, engines, migrations.
    ("db", ("unimeter.db",)),
    # Pure helpers, the process's metric families, and the package root (its version).
    ("kit", ("unimeter.kit", "unimeter.observability.metrics", ROOT)),
)

# (importer, imported, why): imports the layer order allows but that break a rule.
FORBIDDEN: tuple[tuple[str, str, str], ...] = (
    # Services stand alone: the engine announces runs through runtime.hooks.publish.
    ("unimeter.sync", "unimeter.webhooks", "sync reaches webhooks only through its hooks"),
    ("unimeter.sync", "unimeter.auth", "services do not import each other"),
    ("unimeter.webhooks", "unimeter.sync", "services do not import each other"),
    ("unimeter.auth", "unimeter.sync", "services do not import each other"),
    ("unimeter.auth", "unimeter.webhooks", "services do not import each other"),
    # Notifications hear webhooks' events through a listener the composition root registers.
    ("unimeter.webhooks", "unimeter.notifications", "services do not import each other"),
    ("unimeter.notifications", "unimeter.webhooks", "services do not import each other"),
    ("unimeter.notifications", "unimeter.sync", "services do not import each other"),
    ("unimeter.sync", "unimeter.notifications", "sync reaches notifications only through hooks"),
    # Inside sync/: scheduling > service > engine > store.
    ("unimeter.sync.store", "unimeter.sync.engine", "the record store is below the engine"),
    ("unimeter.sync.store", "unimeter.sync.scheduling", "the record store is below scheduling"),
    ("unimeter.sync.store", "unimeter.sync.service", "the record store is below the service"),
    ("unimeter.sync.engine", "unimeter.sync.scheduling", "the engine is below scheduling"),
    ("unimeter.sync.engine", "unimeter.sync.service", "the engine is below sync_account"),
)

# Packages that may import only from the listed prefixes (and themselves).
ONLY_FROM: Mapping[str, tuple[str, ...]] = {
    # A vendor is one folder: it sees the contract, the kit, metric families and the
    # version, never the store, the runtime or a domain.
    "unimeter.connectors": ("unimeter.kit", "unimeter.observability.metrics", ROOT),
}

# Modules only the listed importers may import.
IMPORTED_ONLY_BY: Mapping[str, tuple[str, ...]] = {
    # The composition root knows everything; only a process's entry imports it.
    "unimeter.app": ("unimeter.cli", "unimeter.__main__"),
    "unimeter.wiring": ("unimeter.cli", "unimeter.__main__", "unimeter.app"),
}


@dataclass(frozen=True, slots=True)
class Import:
    importer: str
    imported: str
    file: str  # relative to the folder holding src/, as the failure shows it
    line: int

    def where(self) -> str:
        return f"{self.file}:{self.line} imports {self.imported}"


def _matches(module: str, pattern: str) -> bool:
    if pattern == ROOT:  # the package root means its __init__ only, not every module
        return module == ROOT
    parts, wanted = module.split("."), pattern.split(".")
    if len(parts) < len(wanted):
        return False
    return all(w in ("*", p) for w, p in zip(wanted, parts, strict=False))


def layer_of(module: str) -> int | None:
    """The rank (0 = top) of the module's most specific pattern; None when none matches."""
    best: tuple[int, int] | None = None  # (pattern depth, rank)
    for rank, (_name, patterns) in enumerate(LAYERS):
        for pattern in patterns:
            depth = len(pattern.split("."))
            if _matches(module, pattern) and (best is None or depth > best[0]):
                best = (depth, rank)
    return None if best is None else best[1]


def modules(src: Path = SRC) -> dict[str, Path]:
    found = {}
    for path in sorted((src / ROOT).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(module: str, path: Path, known: Mapping[str, Path], src: Path) -> Iterator[Import]:
    file = str(path.relative_to(src.parent))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # ``from pkg import sub`` depends on the submodule, not only on pkg/__init__.
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for target in dict.fromkeys(targets):
            if target == ROOT or target.startswith(ROOT + "."):
                yield Import(module, target, file, node.lineno)


def violations(graph: list[Import]) -> list[str]:
    found = []
    for imp in graph:
        mine, theirs = layer_of(imp.importer), layer_of(imp.imported)
        if mine is not None and theirs is not None and theirs < mine:
            found.append(
                f"{imp.where()}: the {LAYERS[mine][0]} layer may not import the "
                f"{LAYERS[theirs][0]} layer"
            )
        for importer, imported, why in FORBIDDEN:
            # A module in a more specific layer (sync/hooks.py, a routes module) is exempt.
            if (
                _matches(imp.importer, importer)
                and _matches(imp.imported, imported)
                and layer_of(imp.importer) == layer_of(importer)
            ):
                found.append(f"{imp.where()}: {why}")
        for package, allowed in ONLY_FROM.items():
            if _matches(imp.importer, package) and not any(
                _matches(imp.imported, p) for p in (package, *allowed)
            ):
                found.append(f"{imp.where()}: {package} may import only {', '.join(allowed)}")
        for guarded, importers in IMPORTED_ONLY_BY.items():
            if _matches(imp.imported, guarded) and not any(
                _matches(imp.importer, p) for p in (guarded, *importers)
            ):
                found.append(f"{imp.where()}: only {', '.join(importers)} may import {guarded}")
    return found


def graph_of(src: Path = SRC) -> list[Import]:
    known = modules(src)
    return [imp for module, path in known.items() for imp in imports_of(module, path, known, src)]


def test_every_module_has_a_layer() -> None:
    orphans = [m for m in modules() if layer_of(m) is None]
    assert not orphans, f"modules in no layer (add their package to LAYERS): {orphans}"


def test_layers_point_down() -> None:
    found = violations(graph_of())
    assert not found, "imports that break the layering:\n" + "\n".join(found)


def test_the_check_names_an_upward_import(tmp_path: Path) -> None:
    """The check itself can fail: a planted upward import is reported with file and line."""
    package = tmp_path / ROOT
    for folder in ("sync/engine", "accounts", "connectors/acme", "db"):
        (package / folder).mkdir(parents=True)
    (package / "accounts" / "lifecycle.py").write_text("X = 1\n")
    (package / "db" / "models.py").write_text("X = 1\n")
    (package / "sync" / "engine" / "runs.py").write_text(
        "def close() -> None:\n    from unimeter.accounts import lifecycle\n"
    )
    (package / "connectors" / "acme" / "source.py").write_text("from ...db import models\n")
    found = violations(graph_of(tmp_path))
    assert found == [
        f"{tmp_path.name}/unimeter/connectors/acme/source.py:1 imports unimeter.db.models: "
        "unimeter.connectors may import only unimeter.kit, unimeter.observability.metrics, "
        "unimeter",
        f"{tmp_path.name}/unimeter/sync/engine/runs.py:2 imports unimeter.accounts.lifecycle: "
        "the services layer may not import the domains layer",
    ]
