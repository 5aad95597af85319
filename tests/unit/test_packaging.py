"""The wheel `pip install .` builds holds every subpackage and the data files, and no tests nor setup.py.

The wheel is built from a copy of the checkout (the build leaves nothing in it), unpacked, and every
module imported from it in a Python that does not run `site` (so the editable install's finder is not
active) and sees the unpacked wheel first and this venv's site-packages after it, for the dependencies.
"""

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", "runs", ".pytest_cache",
                              ".ruff_cache", "out")

# Streamlit scripts: importing one runs the page, so they are compiled, not imported.
IMPORT_ALL = r"""
import importlib, pkgutil, py_compile, sys
from pathlib import Path
import netarium
root = Path(netarium.__file__).parent
assert root.parent == Path(WHEEL), f"netarium imported from {netarium.__file__}, not the wheel"
scripts = [root / "app.py", *sorted((root / "pages").glob("*.py"))]
for script in scripts:
    py_compile.compile(str(script), doraise=True)
names = []
for info in pkgutil.walk_packages(netarium.__path__, "netarium."):
    if info.name == "netarium.app" or info.name.startswith("netarium.pages."):
        continue
    module = importlib.import_module(info.name)
    assert Path(module.__file__).is_relative_to(root), module.__file__
    names.append(info.name)
print("\n".join(names))
"""


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of a copy of the checkout, unpacked into a folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=SKIP)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp), str(src)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = tmp.glob("netarium-*.whl")
    unpacked = tmp / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(unpacked)
    return unpacked


@pytest.mark.slow
def test_wheel_holds_every_source_package_and_data_but_no_tests(wheel_dir: Path):
    shipped = {p.relative_to(wheel_dir / "netarium").as_posix() for p in (wheel_dir / "netarium").rglob("*") if p.is_file()}
    sources = {p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py")
               if not p.relative_to(ROOT).parts[0].startswith((".", "tests", "build", "runs", "setup.py"))}
    assert sources - shipped == set()
    assert "setup.py" not in shipped
    assert {"analysis/diagram/model.py", "ui/views/diagram.py", "tasks/data/alice.txt"} <= shipped
    assert not any(name.startswith("tests/") for name in shipped)
    assert not (wheel_dir / "tests").exists()


@pytest.mark.slow
def test_every_module_of_the_wheel_imports_without_the_checkout(wheel_dir: Path):
    deps = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    code = f"import sys; WHEEL = {str(wheel_dir)!r}; sys.path[:0] = [WHEEL, *{deps!r}]\n" + IMPORT_ALL
    out = subprocess.run([sys.executable, "-S", "-E", "-c", code], cwd=wheel_dir, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    imported = set(out.stdout.split())
    assert {"netarium.analysis.diagram", "netarium.analysis.diagram.model", "netarium.ui.views",
            "netarium.ui.views.diagram", "netarium.bench", "netarium.tasks.sequence"} <= imported
