"""An installed kelp (not a checkout) finds the filer schema's migrations: the project is built into
a wheel (`pip wheel --no-deps`, offline, with the venv's setuptools), the wheel is checked to hold
migrations/ (env.py, alembic.ini, every revision), installed with `pip install --no-deps --target`
into a temporary directory, and a Python started outside the repository with only that directory
added (dependencies from the venv) migrates a fresh SQLite filer store from the installed copy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "controlplane", "dataplane", "ops", "kelp_http", "proto", "migrations")
BUILD_SECONDS = 180


def test_installed_wheel_migrates_from_its_own_migrations(tmp_path: Path) -> None:
    source = tmp_path / "src"  # a copy, so the build leaves no build/ or egg-info in the checkout
    for name in SOURCES:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "results"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(wheels), str(source)], check=True, timeout=BUILD_SECONDS,
                   capture_output=True)
    (wheel,) = wheels.glob("kelp-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    revisions = sorted(p.name for p in (REPO / "migrations/versions").glob("*.py"))
    assert revisions, "the checkout has no migration revisions"
    wanted = {"migrations/__init__.py", "migrations/env.py", "migrations/alembic.ini",
              *(f"migrations/versions/{name}" for name in revisions)}
    assert wanted <= names, f"missing from the wheel: {sorted(wanted - names)}"

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target",
                    str(target), str(wheel)], check=True, timeout=BUILD_SECONDS, capture_output=True)
    probe = textwrap.dedent(f"""
        import controlplane
        from controlplane.filer.store import StoreConfig, open_store
        from controlplane.filer.store import migrate
        target = {str(target)!r}
        assert controlplane.__file__.startswith(target), controlplane.__file__
        found = migrate.migrations_dir()
        assert str(found).startswith(target), found
        store = open_store(StoreConfig(kind="sqlite", path={str(tmp_path / "filer.db")!r}))
        with store.engine.connect() as connection:
            print(migrate.current_revision(connection), migrate.head_revision(), found)
        store.close()
    """)
    # PYTHONPATH comes before the venv's site-packages (and its editable-install finder), and the
    # working directory is outside the repository: every kelp module comes from the install.
    ran = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert ran.returncode == 0, ran.stderr
    current, head, found = ran.stdout.split()
    assert current == head and found == str(target / "migrations")
