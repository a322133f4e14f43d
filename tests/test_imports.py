"""Import hygiene: cheap imports, no import cycles, no private names across modules.

* ``import recon_core`` and opening the home page must not load TensorFlow or Keras (run in
  fresh interpreters, since this test session has long imported them);
* a static walk (``ast``, nothing imported) of every module of ``recon_core/`` builds the graph
  of imports between them — imports inside functions included, ``if TYPE_CHECKING:`` blocks
  left out — and fails on any cycle, and on any use of another module's private name
  (``from m import _x``, ``m._x``, ``m._x = ...``), in ``recon_core/`` and in the code that
  uses it (``pages/``, ``ui/``, ``benchmarks/``, ``scripts/``). A private *module* (``_x.py``)
  may be imported from inside its own package only. Package ``__init__`` files that export
  names lazily (:mod:`recon_core.lazy`) name modules in strings, which are not imports.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "recon_core"
USERS = ("pages", "ui", "benchmarks", "scripts")
HEAVY = ("tensorflow", "keras")


def _run_python(code: str, timeout: float = 300) -> dict:
    """Run ``code`` in a fresh interpreter at the repository root; it prints one JSON line."""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------- lazy heavy imports


def test_import_and_make_mask_do_not_load_tensorflow():
    loaded = _run_python(textwrap.dedent(f"""
        import json, sys
        import recon_core
        recon_core.make_mask((256, 256), 4)
        print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))
    """))
    assert loaded == {m: False for m in HEAVY}, f"loaded at import: {loaded}"


def test_home_page_renders_without_tensorflow():
    result = _run_python(textwrap.dedent(f"""
        import json, sys
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file("streamlit_app.py", default_timeout=120).run()
        print(json.dumps({{"exception": [str(e.value) for e in at.exception],
                          "title": [t.value for t in at.title],
                          **{{m: m in sys.modules for m in {HEAVY!r}}}}}))
    """))
    assert result["exception"] == [] and result["title"] == ["MRI Recon Lab"], result
    assert {m: result[m] for m in HEAVY} == {m: False for m in HEAVY}, \
        f"rendering Home loaded {[m for m in HEAVY if result[m]]}"


def test_explorer_and_mask_designer_render_without_tensorflow():
    # a visitor who only explores k-space and masks never pays for importing TensorFlow
    result = _run_python(textwrap.dedent(f"""
        import json, sys
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file("streamlit_app.py", default_timeout=120).run()
        out = {{}}
        for page in ("explorer", "masks"):
            at.switch_page(f"pages/{{page}}.py").run()
            out[page] = {{"exception": [str(e.value) for e in at.exception],
                         "charts": len(at.get("plotly_chart"))}}
        at.slider(key="w_accel").set_value(8.0).run()
        out["masks_8x"] = {{"exception": [str(e.value) for e in at.exception]}}
        print(json.dumps({{**out, **{{m: m in sys.modules for m in {HEAVY!r}}}}}))
    """))
    for page in ("explorer", "masks"):
        assert result[page]["exception"] == [] and result[page]["charts"] >= 2, result
    assert result["masks_8x"]["exception"] == [], result
    assert {m: result[m] for m in HEAVY} == {m: False for m in HEAVY}, \
        f"the explorer or mask designer loaded {[m for m in HEAVY if result[m]]}"


# --------------------------------------------------------------------- static import walking


@dataclass(frozen=True)
class Ref:
    """One import or attribute use in a file: ``module`` (dotted) and optional ``name``."""

    module: str
    name: str | None
    line: int
    runtime: bool  # False inside ``if TYPE_CHECKING:``


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(root: Path, top: str) -> dict[str, Path]:
    """Dotted name -> file of every module under ``root / top``."""
    return {_module_name(p, root): p for p in sorted((root / top).rglob("*.py"))}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Walker(ast.NodeVisitor):
    """Collect the imports of one file and the module attributes it reads or writes."""

    def __init__(self, module: str, is_package: bool, known: set[str]):
        self.package = module if is_package else module.rpartition(".")[0]
        self.known = known
        self.refs: list[Ref] = []
        self.aliases: dict[str, str] = {}  # local name -> module it is bound to
        self.runtime = True

    def _absolute(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = self.package.split(".")
        base = base[: len(base) - node.level + 1]
        return ".".join(base + ([node.module] if node.module else []))

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            outer, self.runtime = self.runtime, False
            for child in node.body:
                self.visit(child)
            self.runtime = outer
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.refs.append(Ref(alias.name, None, node.lineno, self.runtime))
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.aliases[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._absolute(node)
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in self.known:  # ``from pkg import submodule``
                self.refs.append(Ref(sub, None, node.lineno, self.runtime))
                self.aliases[alias.asname or alias.name] = sub
            else:
                self.refs.append(Ref(base, alias.name, node.lineno, self.runtime))

    def _dotted(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        base = self._dotted(node.value)
        if base in self.known and _is_private(node.attr):
            self.refs.append(Ref(base, node.attr, node.lineno, self.runtime))
        self.generic_visit(node)


def _refs(path: Path, module: str, known: set[str]) -> list[Ref]:
    walker = _Walker(module, path.name == "__init__.py", known)
    walker.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return walker.refs


def _where(path: Path, root: Path, line: int) -> str:
    return f"{path.relative_to(root)}:{line}"


def import_cycles(root: Path, top: str = PACKAGE) -> list[str]:
    """Import cycles between the modules under ``root / top``, one readable line each."""
    files = _modules(root, top)
    known = set(files)
    edges: dict[str, dict[str, int]] = {m: {} for m in files}
    for mod, path in files.items():
        for ref in _refs(path, mod, known):
            if ref.runtime and ref.module in known and ref.module != mod:
                edges[mod].setdefault(ref.module, ref.line)
    # Tarjan's strongly connected components; a component of two or more modules holds a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(files):
        if v not in index:
            connect(v)

    messages = []
    for comp in components:
        members = set(comp)
        # One concrete cycle through the component's first module (breadth-first, shortest).
        start = comp[0]
        prev: dict[str, str] = {}
        frontier = [start]
        while frontier and start not in prev:
            nxt = []
            for v in frontier:
                for w in sorted(edges[v]):
                    if w in members and w not in prev:
                        prev[w] = v
                        nxt.append(w)
            frontier = nxt
        path = [start]
        while True:
            path.append(prev[path[-1]])
            if path[-1] == start:
                break
        path.reverse()
        hops = " -> ".join(
            f"{a} ({_where(files[a], root, edges[a][b])})" for a, b in zip(path, path[1:])
        ) + f" -> {start}"
        messages.append(f"cycle among {', '.join(comp)}: {hops}")
    return messages


def private_uses(root: Path, files: dict[str, Path], known: set[str]) -> list[str]:
    """Uses, in ``files``, of private names or private modules of the modules in ``known``."""
    problems = []
    for mod, path in files.items():
        own_package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for ref in _refs(path, mod, known):
            target = ref.module if ref.name is None else f"{ref.module}.{ref.name}"
            where = _where(path, root, ref.line)
            if target in known:  # a module: private ones only from inside their package
                parts = target.split(".")
                for i, part in enumerate(parts):
                    parent = ".".join(parts[:i])
                    inside = own_package == parent or own_package.startswith(parent + ".")
                    if _is_private(part) and not inside:
                        problems.append(f"{where}: {mod} uses private module {target}")
                        break
            elif ref.module in known and ref.name and _is_private(ref.name) and ref.module != mod:
                problems.append(f"{where}: {mod} uses {ref.module}.{ref.name}, private to "
                                f"{ref.module}")
    return problems


def _report(problems: list[str], what: str) -> str:
    return f"{len(problems)} {what}:\n  " + "\n  ".join(problems)


def test_no_import_cycles_in_recon_core():
    cycles = import_cycles(ROOT)
    assert not cycles, _report(cycles, "import cycle(s) in recon_core (break them by moving the "
                                       "shared code down a layer)")


def test_no_private_names_across_recon_core_modules():
    files = _modules(ROOT, PACKAGE)
    problems = private_uses(ROOT, files, set(files))
    assert not problems, _report(problems, "use(s) of another module's private name in "
                                           "recon_core (make the name public or move the code)")


def test_app_benchmarks_and_scripts_use_only_public_recon_core_names():
    known = set(_modules(ROOT, PACKAGE))
    files = {m: p for top in USERS if (ROOT / top).is_dir() for m, p in _modules(ROOT, top).items()}
    files[_module_name(ROOT / "streamlit_app.py", ROOT)] = ROOT / "streamlit_app.py"
    problems = private_uses(ROOT, files, known)
    assert not problems, _report(problems, "use(s) of recon_core private names outside "
                                           "recon_core (add a public option instead)")


# ------------------------------------------------------------- the checker on a small package


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def test_checker_finds_cycles_through_function_level_and_submodule_imports(tmp_path):
    root = _tree(tmp_path, {
        "pkg/__init__.py": "from pkg.lazy import lazy_exports\n_WHERE = {'a': 'pkg.a'}\n",
        "pkg/lazy.py": "",
        "pkg/a.py": "from pkg import b\n",
        "pkg/b.py": "def f():\n    from pkg.sub import c\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/c.py": "import pkg.a as a\n",
        "pkg/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import e\n",
        "pkg/e.py": "from pkg import d\n",
    })
    (msg,) = import_cycles(root, "pkg")
    assert msg.startswith("cycle among pkg.a, pkg.b, pkg.sub.c: pkg.a (pkg/a.py:1) -> pkg.b")
    assert "pkg.sub.c (pkg/sub/c.py:1) -> pkg.a" in msg


def test_checker_finds_private_names_and_monkey_patching(tmp_path):
    root = _tree(tmp_path, {
        "pkg/__init__.py": "__version__ = '1'\n",
        "pkg/m.py": "def _helper(): pass\n_x = 1\ny = _x\n",
        "pkg/io/__init__.py": "",
        "pkg/io/_source.py": "",
        "pkg/io/load.py": "from pkg.io import _source\nfrom pkg.io._source import thing\n",
        "pkg/n.py": "from pkg.m import _helper\nfrom pkg import __version__\n",
        "pkg/o.py": "import pkg.io._source\n",
        "app/p.py": "import pkg.m as mm\nimport pkg\nmm._helper = None\nprint(pkg.m._x, mm.y)\n",
    })
    files = _modules(root, "pkg")
    known = set(files)
    assert private_uses(root, files, known) == [
        "pkg/n.py:1: pkg.n uses pkg.m._helper, private to pkg.m",
        "pkg/o.py:1: pkg.o uses private module pkg.io._source",
    ]
    assert private_uses(root, _modules(root, "app"), known) == [
        "app/p.py:3: app.p uses pkg.m._helper, private to pkg.m",
        "app/p.py:4: app.p uses pkg.m._x, private to pkg.m",
    ]


def test_no_exported_function_is_shadowed_by_a_submodule_of_the_same_name():
    """``recon_core.recon.gridding`` was a module *and* a function: once the module was
    imported, the package attribute became the module and ``rc.gridding(...)`` failed."""
    import importlib
    import pkgutil
    import types

    import recon_core

    for pkg_name in ("recon_core", "recon_core.ops", "recon_core.recon", "recon_core.masks"):
        pkg = importlib.import_module(pkg_name)
        for info in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"{pkg_name}.{info.name}")
        shadowed = [n for n in pkg.__all__ if isinstance(getattr(pkg, n), types.ModuleType)]
        assert not shadowed, f"{pkg_name} exports names that are also submodules: {shadowed}"
    assert callable(recon_core.gridding)
