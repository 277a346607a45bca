"""What the code imports is pinned in pyproject.toml itself, not only present because another package needs it:
a fresh `pip install -e '.[test]'` must not depend on what other packages happen to require."""

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# docs/experiments are research scripts with extras of their own (named in each script), not installed code
CODE = ["chatbot", "conversations", "intents", "monitoring", "tests", "bench", "manage.py"]
LOCAL = {"chatbot", "conversations", "intents", "monitoring", "tests", "bench"}


def _imported_modules() -> dict[str, str]:
    """Top-level module → one file importing it, for absolute imports of the code."""
    found: dict[str, str] = {}
    for entry in CODE:
        path = ROOT / entry
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
                for name in names:
                    found.setdefault(name.split(".")[0], str(file.relative_to(ROOT)))
    return found


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_third_party_import_is_pinned_exactly_in_pyproject():
    """Each distribution providing an imported module is a direct `==` dependency (main or test extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    pinned = {_normalised(re.split(r"[\[=<>~! ]", r)[0]) for r in requirements if "==" in r}
    providers = importlib.metadata.packages_distributions()
    unpinned = {
        module: file for module, file in _imported_modules().items()
        if module not in sys.stdlib_module_names and module not in LOCAL
        and not {_normalised(d) for d in providers.get(module, [])} & pinned
    }  # fmt: skip
    assert not unpinned, f"imported but not pinned with == in pyproject.toml: {unpinned}"
