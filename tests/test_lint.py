"""ruff over the whole code base, and the layering rules (config in pyproject.toml)."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PATHS = ["app.py", "engine", "pages", "lessons", "tools", "tests"]  # the whole code base


def test_ruff_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -r requirements-dev.txt)")
    r = subprocess.run([ruff, "check", *PATHS], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_layering():
    """engine/ knows no UI; lessons/ knows no Streamlit; pages/ never import torch."""
    rules = {"engine": ("streamlit", "altair", "lessons", "pages"), "lessons": ("streamlit", "pages"),
             "pages": ("torch",)}
    bad = []
    for folder, banned in rules.items():
        for path in (ROOT / folder).rglob("*.py"):
            for line in path.read_text().splitlines():
                words = line.strip().split()
                if len(words) > 1 and words[0] in ("import", "from") and words[1].split(".")[0] in banned:
                    bad.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert not bad, bad


def test_no_code_or_markup_sinks_for_untrusted_text():
    """No builtin eval/exec/compile, no pickle (the engine cache reads .npz with allow_pickle=False,
    plans are JSON), no torch.load, no unsafe_allow_html, and st.html only with a constant (the
    app's CSS): text from a URL, an upload or a cache file can never run as code or render as HTML.
    (`model.eval()` is PyTorch's switch to evaluation mode, an attribute call, and is fine.)"""
    import ast

    bad = []
    for folder in ("app.py", "engine", "pages", "lessons", "tools"):
        base = ROOT / folder
        for path in ([base] if base.is_file() else base.rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            consts = {t.id for node in tree.body if isinstance(node, ast.Assign)
                      and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                      for t in node.targets if isinstance(t, ast.Name)}
            where = lambda node: f"{path.relative_to(ROOT)}:{node.lineno}"  # noqa: E731
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom)
                                                            and node.module else [])
                    bad += [f"{where(node)}: imports {n}" for n in names
                            if n.split(".")[0] in ("pickle", "marshal", "shelve", "dill", "cloudpickle")]
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                if isinstance(f, ast.Name) and f.id in ("eval", "exec", "compile", "__import__"):
                    bad.append(f"{where(node)}: {f.id}()")
                if isinstance(f, ast.Attribute) and f.attr == "load" and getattr(f.value, "id", "") == "torch":
                    bad.append(f"{where(node)}: torch.load()")
                for kw in node.keywords:
                    if kw.arg in ("unsafe_allow_html", "allow_pickle") and not (
                            isinstance(kw.value, ast.Constant) and kw.value.value is False):
                        bad.append(f"{where(node)}: {kw.arg}=")
                if isinstance(f, ast.Attribute) and f.attr == "html" and node.args and not (
                        isinstance(node.args[0], ast.Constant)
                        or isinstance(node.args[0], ast.Name) and node.args[0].id in consts):
                    bad.append(f"{where(node)}: st.html with a non-constant argument")
    assert not bad, bad
