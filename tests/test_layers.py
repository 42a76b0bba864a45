"""The layers stay apart: storage <- bot <- handlers, and handlers never reach below services.

`handlers/` holds the conversations: it never imports a platform adapter (`bot.channels`),
SQLAlchemy, or a schema module (`storage.schema`, `storage.*_schema`); the SQL lives in the
storage module that owns the table. `storage/` never imports `bot`, `handlers` or `console`.
The scan reads every module's syntax tree, so an import inside a function counts too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path, package: str) -> set[str]:
    """Every module `path` (in `package`) imports, at top level or inside a function, as absolute
    names; `from a import b` counts as both `a` and `a.b` (b may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            # `from storage import schema` imports storage.schema.
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def forbidden_for_handlers(module: str) -> bool:
    if module == "sqlalchemy" or module.startswith("sqlalchemy."):
        return True
    if module == "bot.channels" or module.startswith("bot.channels."):
        return True
    parts = module.split(".")
    schema = len(parts) >= 2 and (parts[1] == "schema" or parts[1].endswith("_schema"))
    return parts[0] == "storage" and schema


def forbidden_for_storage(module: str) -> bool:
    top = module.split(".")[0]
    return top in {"bot", "handlers", "console"}


def violations(folder: str, forbidden: Callable[[str], bool]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        package = ".".join(path.relative_to(ROOT).parts[:-1])
        bad = {name for name in imported_modules(path, package) if forbidden(name)}
        if bad:
            found[relative] = bad
    return found


def test_handlers_import_no_platform_sqlalchemy_or_schema() -> None:
    assert violations("handlers", forbidden_for_handlers) == {}


def test_storage_imports_no_upper_layer() -> None:
    assert violations("storage", forbidden_for_storage) == {}


def test_the_scan_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text(
        "def f():\n    from sqlalchemy import select\n    import bot.channels.telegram\n"
        "from ..storage import chamber_schema\n", encoding="utf-8")
    names = imported_modules(module, "handlers.sessions")
    assert {"sqlalchemy", "bot.channels.telegram", "handlers.storage.chamber_schema"} <= names
    assert all(forbidden_for_handlers(name) for name in ("sqlalchemy.select", "bot.channels.telegram",
                                                         "storage.schema", "storage.sessions_schema"))
    assert not forbidden_for_handlers("storage.sessions")
    assert not forbidden_for_handlers("bot.outbox")
    assert forbidden_for_storage("console.web") and not forbidden_for_storage("storage.sql")



OUTBOX_SQL = re.compile(r"\b(from|update|into|join)\s+outbox\b", re.IGNORECASE)


def outbox_owners() -> set[str]:
    """Modules of the application that name the ``outbox`` table: import it from the schema
    (``from storage.schema import outbox``, ``schema.outbox``) or write SQL text about it."""
    found: set[str] = set()
    for folder in ("bot", "handlers", "storage", "console"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith("storage/migrations/") or relative == "storage/schema.py":
                continue
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source, filename=str(path))
            for node in ast.walk(tree):
                imports = (isinstance(node, ast.ImportFrom) and (node.module or "").endswith("schema")
                           and any(alias.name == "outbox" for alias in node.names))
                attribute = (isinstance(node, ast.Attribute) and node.attr == "outbox"
                             and isinstance(node.value, ast.Name) and node.value.id == "schema")
                text = (isinstance(node, ast.Constant) and isinstance(node.value, str)
                        and OUTBOX_SQL.search(node.value) is not None)
                if imports or attribute or text:
                    found.add(relative)
    return found


def test_one_module_writes_and_reads_the_outbox_table() -> None:
    """'Where is the outbox written?' has one answer: every statement on it is in storage/outbox.py."""
    assert outbox_owners() == {"storage/outbox.py"}
