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
