"""A vendor is one folder: nothing outside ``connectors/<vendor>/`` imports it or names it.

Two checks over the source tree, read with :mod:`ast` (nothing is imported to scan it):

- **imports**: no module outside ``connectors/<vendor>/`` imports ``unimeter.connectors.<vendor>``,
  except the one registration module; a vendor folder imports no other vendor's;
- **names**: no string literal outside the vendor's folder is a vendor's slug (``"cursor"``)
  or one of its wire names (the camelCase aliases of its pydantic models, such as
  ``"userEmail"``, and the few snake_case ones listed in :data:`EXTRA_WIRE_NAMES`).
  Docstrings are prose and are not checked; a pagination ``cursor`` is a word, never the
  quoted slug alone.

Exceptions are listed below, each with its reason; an entry that no longer matches anything
fails the last test, so the lists only shrink.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from unimeter.connectors.registration import default_registry

SRC = Path(__file__).resolve().parents[1] / "src" / "unimeter"
CONNECTORS = SRC / "connectors"
# The one module outside a vendor folder that imports vendors: it registers them.
REGISTRATION = "connectors/registration.py"

# Wire names that are not model aliases (event types and the like), by vendor.
EXTRA_WIRE_NAMES: dict[str, frozenset[str]] = {"cursor": frozenset({"remove_user"})}

# (file, literal) pairs allowed to name a vendor, relative to src/unimeter.
ALLOWED: dict[tuple[str, str], str] = {
    # Migrations are history: a backfill names the vendor whose rows existed when it ran.
    ("db/migrations/versions/0009_connector_contract.py", "cursor"): "backfill of old links",
    ("db/migrations/versions/0009_connector_contract.py", "remove_user"): "backfill of audit",
    # A model's provider is a company name that happens to be a vendor's slug too.
    ("connectors/cursor/mapping.py", "anthropic"): "provider of Claude models used in Cursor",
    ("connectors/cursor/simulator/catalog.py", "anthropic"): "provider of simulated models",
    # Claude Code reports the terminal it ran in; Cursor's editor is one.
    ("connectors/anthropic/simulator/catalog.py", "cursor"): "a terminal_type Claude Code reports",
}
# TODO(issue 12): files other helpers are rewriting onto the canonical usage fact; the lead
# shrinks this list as their branches merge (a stale entry fails the last test).
TODO_ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True, slots=True)
class Finding:
    path: str  # relative to src/unimeter
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def vendors() -> list[str]:
    """The vendor folders under connectors/ (each a package)."""
    return sorted(p.name for p in CONNECTORS.iterdir() if (p / "__init__.py").exists())


def modules() -> Iterator[tuple[str, str, ast.Module]]:
    """(path relative to src/unimeter, dotted module name, parsed tree) of every module."""
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        parts = ["unimeter", *path.relative_to(SRC).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        yield relative, ".".join(parts), ast.parse(path.read_text(), filename=str(path))


def owner(relative: str) -> str | None:
    """The vendor whose folder holds the file, or None."""
    parts = relative.split("/")
    if len(parts) > 2 and parts[0] == "connectors" and parts[1] in vendors():
        return parts[1]
    return None


def imported(module: str, is_package: bool, tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the tree, relative ones resolved."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # ``from unimeter.connectors import cursor``
                yield node.lineno, f"{target}.{alias.name}"


def import_findings() -> list[Finding]:
    findings = []
    for relative, module, tree in modules():
        if relative == REGISTRATION:
            continue
        mine = owner(relative)
        is_package = relative.endswith("__init__.py")
        for line, target in imported(module, is_package, tree):
            for vendor in vendors():
                prefix = f"unimeter.connectors.{vendor}"
                if vendor != mine and (target == prefix or target.startswith(prefix + ".")):
                    findings.append(Finding(relative, line, f"imports {target}"))
    return findings


def wire_names(vendor: str) -> frozenset[str]:
    """The vendor's wire names that differ from ours: camelCase model aliases, plus extras."""
    names = set(EXTRA_WIRE_NAMES.get(vendor, ()))
    try:
        models = importlib.import_module(f"unimeter.connectors.{vendor}.models")
    except ModuleNotFoundError:
        return frozenset(names)
    for value in vars(models).values():
        if isinstance(value, type) and issubclass(value, BaseModel):
            for name, info in value.model_fields.items():
                alias = info.alias or name
                if alias != name and any(c.isupper() for c in alias):
                    names.add(alias)
    return frozenset(names)


def docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes (prose, not checked)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def name_findings() -> list[Finding]:
    slugs = set(default_registry().slugs()) | set(vendors())
    words = {vendor: wire_names(vendor) | {vendor} for vendor in vendors()}
    words.update({slug: words.get(slug, frozenset()) | {slug} for slug in slugs})
    findings = []
    for relative, _module, tree in modules():
        if relative == REGISTRATION:
            continue
        mine = owner(relative)
        prose = docstrings(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            if id(node) in prose:
                continue
            for vendor, names in words.items():
                if vendor == mine:
                    continue
                literal = node.value
                hit = literal in names or literal.startswith(f"unimeter.connectors.{vendor}.")
                if hit:
                    findings.append(Finding(relative, node.lineno, f"names {vendor}: {literal!r}"))
    return findings


def _allowed(finding: Finding) -> bool:
    literal = finding.what.split(": ", 1)[1].strip("'\"")
    return (finding.path, literal) in ALLOWED or (finding.path, literal) in TODO_ALLOWED


def test_only_the_registration_imports_a_vendor() -> None:
    findings = import_findings()
    assert not findings, "vendor modules imported outside their folder:\n" + "\n".join(
        map(str, findings)
    )


def test_no_vendor_slug_or_wire_name_outside_its_folder() -> None:
    findings = [f for f in name_findings() if not _allowed(f)]
    assert not findings, (
        "vendor names outside connectors/<vendor>/ (move them into the connector, or add "
        "user-facing copy to ALLOWED with its reason):\n" + "\n".join(map(str, findings))
    )


def test_the_allow_lists_hold_no_stale_entry() -> None:
    used = set()
    for f in name_findings():
        used.add((f.path, f.what.split(": ", 1)[1].strip("'\"")))
    stale = sorted((set(ALLOWED) | set(TODO_ALLOWED)) - used)
    assert not stale, f"remove these allow-list entries, nothing matches them now: {stale}"


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    """The scanners themselves: a relative vendor import, an absolute one, and a slug."""
    tree = ast.parse(
        "from ..connectors.cursor import client\nimport unimeter.connectors.cursor.models\n"
        "X = 'cursor'\n"
    )
    targets = [t for _, t in imported("unimeter.proxy.service", False, tree)]
    assert "unimeter.connectors.cursor" in targets
    assert "unimeter.connectors.cursor.models" in targets
    assert "userEmail" in wire_names("cursor")
    literals = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    assert "cursor" in literals
