"""Hirfa installed as the Docker image installs it: a real, non-editable install of the folders
the Dockerfile copies, run from another directory.

The rest of the suite runs the checkout itself (an editable install), so a data file left out of
the package (``pyproject.toml``'s package data) or a folder the Dockerfile forgets to copy goes
unseen there, and shows only on a server: the console that does not import, a bot that no
longer understands "wakha". Docker may be absent (CI machines, this one): the build stage's
``pip install`` is what matters, and it is done here with the same file set. Nothing is
downloaded: the dependencies are the test environment's, the build runs without isolation.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def build_stage_sources() -> list[str]:
    """What the Dockerfile's build stage copies before ``pip install`` (files and folders)."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.split(r"^FROM ", dockerfile, flags=re.M)[1:]
    assert len(stages) == 2, "the Dockerfile has a build stage and a final stage"
    sources: list[str] = []
    for line in stages[0].splitlines():
        if match := re.match(r"COPY\s+(?!--)(.+?)\s+\S+$", line):
            sources += match.group(1).split()
    return sources


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built and installed from what the Dockerfile copies (a ``--target`` folder)."""
    work = tmp_path_factory.mktemp("image")
    src, target = work / "src", work / "site"
    src.mkdir()
    for name in build_stage_sources():
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, src / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--disable-pip-version-check", "--target", str(target), str(src)],
        capture_output=True, text=True, cwd=work, timeout=300, check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return target


def run_installed(installed: Path, cwd: Path, *args: str, stdin: str = "") -> str:
    """``python ARGS`` seeing the installed copy only: ``-S`` skips the site hooks (this
    environment's editable install of the checkout), the dependencies come from site-packages."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIRFA_")}
    env["PYTHONPATH"] = os.pathsep.join([str(installed), sysconfig.get_paths()["purelib"],
                                         sysconfig.get_paths()["platlib"]])
    result = subprocess.run([sys.executable, "-S", *args], input=stdin, cwd=cwd,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_every_file_the_program_reads_is_installed(installed: Path) -> None:
    """Each tracked file of the packages (code, catalogs, word lists, migrations, the console's
    pages and styles) is in the installed copy."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = [p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]
    listed = subprocess.run(["git", "ls-files", *packages],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    # Not shipped: notes for translators (.md) and Alembic's template for writing a migration.
    shipped = [name for name in listed if not name.endswith((".md", ".mako"))]
    assert len(shipped) > 100
    missing = [name for name in shipped if not (installed / name).is_file()]
    assert missing == []


def test_the_installed_bot_understands_darija_and_serves_the_console(
    installed: Path, tmp_path: Path,
) -> None:
    """From an empty folder, as in the image (``WORKDIR /data``): the terminal demo registers in
    French and takes "wakha" (Darija for "OK") as consent, which needs the word lists; the
    console's module imports with its templates."""
    out = run_installed(installed, tmp_path, "-m", "bot", "shell", "--demo",
                        stdin="9\nfrancais\nwakha\n")
    assert "Êtes-vous d'accord" in out  # the consent question, in French
    assert "Quel est votre nom complet" in out  # "wakha" was understood: the next question
    check = ("import console.web, jinja2; "
             "env = jinja2.Environment(loader=jinja2.PackageLoader('console', 'templates')); "
             "print(console.web.__file__); print(len(env.list_templates()))")
    where, templates = run_installed(installed, tmp_path, "-c", check).split()
    assert where.startswith(str(installed)) and int(templates) > 5
