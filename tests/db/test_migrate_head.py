"""Opening a store already at head runs no migration code: Alembic is not even imported
(its imports were a quarter of a CLI command's start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from unimeter.db.migrate import alembic_config, current_revision, head_revision, upgrade


def test_the_head_read_from_the_files_is_alembics_head(tmp_path: Path) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(f"sqlite:///{tmp_path / 'x.db'}"))
    assert head_revision() == scripts.get_current_head()


def test_a_store_at_head_opens_without_alembic_and_a_new_one_is_migrated(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert current_revision(url) is None
    upgrade(url)
    assert current_revision(url) == head_revision()
    probe = (
        "import sys; from unimeter.db.migrate import upgrade; "
        f"upgrade({url!r}); print('alembic' in sys.modules)"
    )
    at_head = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert at_head.returncode == 0, at_head.stderr
    assert at_head.stdout.strip() == "False"
    fresh = probe.replace("store.db", "fresh.db")
    migrated = subprocess.run([sys.executable, "-c", fresh], capture_output=True, text=True)
    assert migrated.stdout.strip() == "True", migrated.stderr
    assert current_revision(url.replace("store.db", "fresh.db")) == head_revision()
