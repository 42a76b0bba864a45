"""The conversation graph: checked when the router is built, drawn for readers.

Steps are members of a feature's :class:`bot.dialogue.Step` enum, and ``State``, ``back=`` and
``Context.goto`` only take members: a misspelt step is a mypy error. What mypy cannot see is
checked here, so that a mistake stops start-up with one line instead of reaching a user at run
time:

- two features never claim the same entry: a command, a deep-link prefix, a menu item id, a
  keyword or a button-payload prefix (:func:`claim`, called by ``Router.include``);
- every ``back=`` target is a registered state (:func:`check`);
- every member of every ``Step`` enum (of the handlers, or naming a registered state) is
  registered as a state, so every ``goto`` a type checker accepts has somewhere to go
  (:func:`check`).

:func:`flows` draws one feature as a Mermaid diagram (``docs/flows/``, written and compared by
``tests/test_flows.py``). Its ``goto`` edges are read from the handlers' source with :mod:`ast`:
``ctx.goto(Reg.NAME)`` (the enum also imported from another module), a module-level constant,
``ctx.goto(retry[...])`` with a dict or tuple of members, ``ctx.goto(A if ok else B)``, and
``ctx.goto(Editor(f"sa.{STEPS[i]}"))`` with a tuple of strings; a computed step whose variable
part is unknown (``Compose(f"bc.aud_{choice}")``) is drawn as its prefix (``bc.aud_*``), and a
target known only at run time (``ctx.goto(step)``) is not drawn.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.payloads import fields_of

if TYPE_CHECKING:
    from bot.dialogue import Router


class GraphError(Exception):
    """The conversation graph is inconsistent; the message is one line naming the conflict."""


def owner(fn: object) -> str:
    """The module that registered a handler (``handlers.sessions.artisan``), for messages."""
    fn = _unwrap(fn)
    return str(getattr(fn, "__module__", None) or "?")


def claim(kind: str, key: str, mine: object, theirs: object | None) -> None:
    """Refuse a second claim of ``key``: ``theirs`` is the handler already registered for it."""
    if theirs is None or _unwrap(theirs) is _unwrap(mine):
        return
    raise GraphError(f"{kind} {key!r} is claimed twice: by {owner(theirs)} and by {owner(mine)}")


# -- goto targets, read from the source ----------------------------------------------------------

@dataclass(frozen=True)
class Goto:
    """One ``goto(...)`` call: in ``function`` (a qualified name) of ``module``.

    ``targets`` are the states it may go to when they are known; otherwise ``prefix`` is the
    constant start of an f-string (``"sa."``), or both are empty (known only at run time).
    """

    module: str
    function: str
    line: int
    targets: tuple[str, ...] = ()
    prefix: str = ""


@dataclass
class _Module:
    name: str
    tree: ast.Module
    # Module-level names bound to a string, a tuple/list of strings or a dict of strings; the
    # members of its classes (``Reg.NAME``), and each such class (``Reg``: all its values).
    constants: dict[str, tuple[str, ...]]
    # Imported names: local name → (module, name or "" for a whole module).
    imports: dict[str, tuple[str, str]]
    gotos: dict[str, list[Goto]]  # by function qualname
    calls: dict[str, set[tuple[str, str]]]  # function qualname → (module, qualname) it calls


Lookup = Callable[[str], "tuple[str, ...] | None"]


def _dotted(node: ast.expr) -> str | None:
    """``Reg.NAME`` → "Reg.NAME", ``registration.Reg`` → "registration.Reg"."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head is not None else None
    return None


def _strings(node: ast.expr, lookup: Lookup) -> tuple[str, ...] | None:
    """The strings ``node`` holds: a literal, an enum member (``Reg.NAME``, found by
    ``lookup``), or a tuple, list, set or dict (its values) of those."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, ast.Attribute):
        dotted = _dotted(node)
        found = lookup(dotted) if dotted is not None else None
        return found if found is not None and len(found) == 1 else None
    elements = (node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set)
                else node.values if isinstance(node, ast.Dict) else None)
    if elements is not None:
        items = [_strings(e, lookup) for e in elements]
        if all(i is not None and len(i) == 1 for i in items):
            return tuple(i[0] for i in items if i is not None)
    return None


def _package_modules(package: str) -> Iterator[tuple[str, Path]]:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise GraphError(f"package {package!r} not found")
    for root in spec.submodule_search_locations:
        base = Path(root)
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join([package, *parts]), path


def _resolve_from(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    drop = node.level - 1 if is_package else node.level
    base = base[: len(base) - drop] if drop else base
    return ".".join([*base, node.module] if node.module else base)


class _Reader(ast.NodeVisitor):
    """Collects, per function, its goto calls and the functions it calls."""

    def __init__(self, module: _Module, modules: dict[str, _Module]) -> None:
        self.module = module
        self.modules = modules
        self.scope: list[str] = []  # the qualified name, as Python spells it
        self.local_consts: list[dict[str, tuple[str, ...] | None]] = [{}]

    def _lookup(self, dotted: str) -> tuple[str, ...] | None:
        return _constant(self.modules, self.module, dotted)

    @property
    def here(self) -> str:
        return ".".join(self.scope) if self.scope else "<module>"

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        nested = len(self.local_consts) > 1
        added = ["<locals>", node.name] if nested else [node.name]
        self.scope.extend(added)
        self.local_consts.append(_locals(node, self._lookup))
        for child in node.body:
            self.visit(child)
        self.local_consts.pop()
        del self.scope[-len(added):]

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "goto" and node.args:
            self.module.gotos.setdefault(self.here, []).append(self._goto(node.args[0], node))
        self.module.calls.setdefault(self.here, set()).update(self._callees(func))
        self.generic_visit(node)

    def _callees(self, func: ast.expr) -> list[tuple[str, str]]:
        imports = self.module.imports
        if isinstance(func, ast.Name):
            if func.id in imports:
                source, name = imports[func.id]
                return [(source, name)] if name else []
            # A module-level function, or one nested in the current function.
            found = [(self.module.name, func.id)]
            if len(self.local_consts) > 1:
                found.append((self.module.name, f"{self.here}.<locals>.{func.id}"))
            return found
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                and func.value.id in imports and not imports[func.value.id][1]):
            return [(imports[func.value.id][0], func.attr)]
        return []

    def _values(self, node: ast.expr) -> tuple[str, ...] | None:
        known = _strings(node, self._lookup)
        if known is not None:
            return known
        if isinstance(node, ast.IfExp):
            body, orelse = self._values(node.body), self._values(node.orelse)
            return body + orelse if body is not None and orelse is not None else None
        if isinstance(node, ast.Name):
            for scope in reversed(self.local_consts):
                if node.id in scope:
                    return scope[node.id]
            return self._lookup(node.id)
        if isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            return self._lookup(dotted) if dotted is not None else None
        if isinstance(node, ast.Subscript):
            return self._values(node.value)
        return None

    def _goto(self, arg: ast.expr, call: ast.Call) -> Goto:
        where = (self.module.name, self.here, call.lineno)
        if isinstance(arg, ast.Call) and len(arg.args) == 1:
            # A step computed by its enum, ``Editor(f"sa.{STEPS[i]}")``: read the argument.
            enum = _dotted(arg.func)
            if enum is not None and self._lookup(enum) is not None:
                arg = arg.args[0]
        if isinstance(arg, ast.JoinedStr):
            combos: list[str] = [""]
            prefix, exact = "", True
            for part in arg.values:
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    combos = [c + part.value for c in combos]
                    prefix += part.value if exact else ""
                    continue
                exact = False
                values = (self._values(part.value) if isinstance(part, ast.FormattedValue)
                          else None)
                combos = [c + v for c in combos for v in values or ()] if values else []
            if combos:
                return Goto(*where, targets=tuple(combos))
            return Goto(*where, prefix=prefix)
        return Goto(*where, targets=self._values(arg) or ())


def _locals(function: ast.FunctionDef | ast.AsyncFunctionDef, lookup: Lookup,
            ) -> dict[str, tuple[str, ...] | None]:
    """The function's local names: the strings a name may hold when every assignment to it is
    a constant, None when one is not (a parameter, a loop variable, a computed value)."""
    found: dict[str, tuple[str, ...] | None] = {}
    arguments = function.args
    for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                arguments.vararg, arguments.kwarg]:
        if arg is not None:
            found[arg.arg] = None
    for node in ast.walk(function):
        value: ast.expr | None = None
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            value, targets = node.value, node.targets
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
            value, targets = node.value, [node.target]
        elif isinstance(node, ast.AugAssign | ast.For | ast.AsyncFor | ast.comprehension):
            targets = [node.target]
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets = [node.optional_vars]
        for target in targets:
            for name in ast.walk(target):
                if not isinstance(name, ast.Name):
                    continue
                values = _strings(value, lookup) if value is not None and target is name else None
                known = found.get(name.id, ())
                found[name.id] = (known + values if known is not None and values is not None
                                  else None)
    return found


def _constant(modules: dict[str, _Module], module: _Module, name: str) -> tuple[str, ...] | None:
    """What a (dotted) name of ``module`` holds: its own constant or enum member, or one it
    imports (``Reg.NAME`` after ``from handlers.registration import Reg``)."""
    if name in module.constants:
        return module.constants[name]
    head, _, rest = name.partition(".")
    if head in module.imports:
        source, imported = module.imports[head]
        target = ".".join(part for part in (imported, rest) if part)
        if target:
            return _imported_constant(modules, source, target)
    return None


def _imported_constant(modules: dict[str, _Module], module: str, name: str,
                       ) -> tuple[str, ...] | None:
    parsed = modules.get(module)
    return _constant(modules, parsed, name) if parsed is not None else None


def _parse(name: str, path: Path) -> _Module:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    module = _Module(name, tree, {}, {}, {}, {})
    is_package = path.name == "__init__.py"
    for node in tree.body:
        if isinstance(node, ast.ClassDef):  # an enum: its members, and the class as all of them
            members = {item.targets[0].id: item.value.value for item in node.body
                       if isinstance(item, ast.Assign) and len(item.targets) == 1
                       and isinstance(item.targets[0], ast.Name)
                       and isinstance(item.value, ast.Constant) and isinstance(item.value.value, str)}
            module.constants.update({f"{node.name}.{k}": (v,) for k, v in members.items()})
            if members:
                module.constants[node.name] = tuple(members.values())
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            values = _strings(node.value, module.constants.get)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if values is not None and isinstance(target, ast.Name):
                    module.constants[target.id] = values
        elif isinstance(node, ast.ImportFrom):
            source = _resolve_from(name, node, is_package)
            for alias in node.names:
                local = alias.asname or alias.name
                # ``from handlers import fields`` imports a module; ``from x import NAME`` a name.
                sub = f"{source}.{alias.name}"
                module.imports[local] = (sub, "") if _is_module(sub) else (source, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                module.imports[alias.asname or alias.name] = (alias.name, "")
    return module


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


_PACKAGES = ("handlers",)


@functools.cache
def _parsed(packages: tuple[str, ...] = _PACKAGES) -> dict[str, _Module]:
    """Every module of the packages, parsed once per process (the source does not change)."""
    modules = {name: _parse(name, path) for package in packages
               for name, path in _package_modules(package)}
    for module in modules.values():
        _Reader(module, modules).visit(module.tree)
    return modules


def gotos(packages: tuple[str, ...] = _PACKAGES) -> list[Goto]:
    """Every ``goto`` call in the packages' source, in file order."""
    return [g for m in _parsed(packages).values() for calls in m.gotos.values() for g in calls]


def reached(fn: object, packages: tuple[str, ...] = _PACKAGES) -> list[Goto]:
    """The ``goto`` calls a registered handler can make: its own, those of the functions it
    calls (followed through the packages), and those of the functions it wraps."""
    modules = _parsed(packages)
    seen: set[tuple[str, str]] = set()
    found: list[Goto] = []
    todo = list(_roots(fn))
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        module = modules.get(key[0])
        if module is None:
            continue
        found.extend(module.gotos.get(key[1], ()))
        todo.extend(module.calls.get(key[1], ()))
    return sorted(set(found), key=lambda g: (g.module, g.line))


def _roots(fn: object, depth: int = 0) -> Iterator[tuple[str, str]]:
    fn = _unwrap(fn)
    module, name = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if isinstance(module, str) and isinstance(name, str):
        yield module, name
    # A wrapper built by a helper (``_guarded(prompt)``) holds the handler in its closure.
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            inner = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if callable(inner) and depth < 3 and hasattr(inner, "__qualname__"):
            yield from _roots(inner, depth + 1)


def _unwrap(fn: Any) -> Any:
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
    return fn


def check(router: Router, packages: tuple[str, ...] = _PACKAGES) -> None:
    """Every ``back=`` target is a state of ``router``, and so is every member of every
    ``Step`` enum declared in the packages or naming one of its states."""
    from bot.dialogue import Step

    states = router.states
    for state in states.values():
        if state.back is not None and state.back not in states:
            raise GraphError(f"state {state.name.value!r} goes back to {state.back.value!r}, "
                             f"which no feature registers")
    enums = {type(name) for name in states if isinstance(name, Step)}
    enums.update(enum for enum in Step.__subclasses__()
                 if any(enum.__module__ == p or enum.__module__.startswith(f"{p}.") for p in packages))
    for enum in sorted(enums, key=lambda e: (e.__module__, e.__qualname__)):
        for member in enum:
            if member not in states:
                raise GraphError(f"step {enum.__module__}.{enum.__qualname__}.{member.name} "
                                 f"({member.value!r}) is not registered as a state")


# -- diagrams ----------------------------------------------------------------------------------

HUB = 4  # a goto with more possible targets is drawn through one "one of N" node


def _node(kind: str, key: str) -> str:
    return f"{kind}_{re.sub(r'[^0-9A-Za-z]', '_', key)}"


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def flows(feature: Router, everything: Router, packages: tuple[str, ...] = _PACKAGES) -> str:
    """A Mermaid flowchart of one feature: its states (with their role), the ways in (commands,
    menu items, buttons, deep links, keywords), the ``goto`` edges and the ``back`` edges.
    States of other features that it goes to are drawn as such; ``everything`` is the whole
    router (to tell them apart)."""
    lines = ["flowchart LR", "  %% Generated by tests/test_flows.py from the router and the "
             "handlers' source; do not edit."]
    edges: set[str] = set()
    nodes: dict[str, str] = {}

    def state_node(name: str) -> str:
        node = _node("s", name)
        if name in feature.states:
            state = feature.states[name]
            extra = f" ({state.role})" if state.role else ""
            nodes[node] = f"  {node}[{_label(name + extra)}]"
        elif name in everything.states:
            nodes[node] = f"  {node}[[{_label(name)}]]"
        else:
            nodes[node] = f"  {node}>{_label(name + ' (missing)')}]"
        return node

    def gone(source: str, fn: object, how: str = "") -> None:
        arrow = f" -. {how} .-> " if how else " --> "
        for goto in reached(fn, packages):
            if len(goto.targets) > HUB:
                # "one of the editor's steps": one node, rather than an edge to each.
                hub = _node("h", "_".join(goto.targets))
                nodes[hub] = f"  {hub}{{{_label(f'one of {len(goto.targets)}')}}}"
                edges.add(f"  {source}{arrow}{hub}")
                edges.update(f"  {hub} --> {state_node(t)}" for t in goto.targets)
                continue
            for target in goto.targets:
                edges.add(f"  {source}{arrow}{state_node(target)}")
            if goto.prefix:
                node = _node("p", goto.prefix)
                nodes[node] = f"  {node}{{{{{_label(goto.prefix + '*')}}}}}"
                edges.add(f"  {source}{arrow}{node}")

    for name, state in feature.states.items():
        node = state_node(name)
        for fn in (state.prompt, state.handle):
            gone(node, fn)
        if state.back is not None:
            edges.add(f"  {node} -. back .-> {state_node(state.back)}")
        if state.on_back is not None:
            gone(node, state.on_back, "back")

    entries: list[tuple[str, str, Callable[..., Any]]] = []
    entries += [(_node("c", n), f"/{n}", c.handler) for n, c in feature.commands.items()]
    entries += [(_node("m", i.id), f"menu {i.id}", i.handler) for i in feature.menu]
    for action in feature.actions:  # "button s:open:*": the ids its payload class reads
        ids = action.prefix + (":" if fields_of(action.payload) else "")
        entries.append((_node("a", ids), f"button {ids}*", action.handler))
    entries += [(_node("d", p), f"link start={p}*", h) for p, h in feature.deeplinks.items()]
    words: dict[Any, list[str]] = {}
    for word, handler in feature.keywords.items():
        words.setdefault(handler, []).append(word)
    for handler, said in words.items():
        said.sort()
        entries.append((_node("k", said[0]), "says " + ", ".join(said), handler))
    for node, label, fn in entries:
        before = len(edges)
        gone(node, fn)
        # Buttons that answer in place (no step follows) would only crowd the picture.
        if len(edges) > before or not node.startswith("a_"):
            nodes[node] = f"  {node}([{_label(label)}])"
    return "\n".join([*lines, *sorted(nodes.values()), *sorted(edges)]) + "\n"

