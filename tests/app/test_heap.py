"""Long-running processes freeze their start-up objects, so a full garbage collection stops walking them.

Each check runs in a process of its own: freezing is for processes that serve until they stop, and
would keep the test process's reference cycles alive.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_FIELD_KEY

REPO = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"

PROBE = """
import gc, json
from app import create_app
create_app()
before = len(gc.get_objects())
from app.gunicorn_config import post_worker_init
post_worker_init(None)
print(json.dumps({"before": before, "after": len(gc.get_objects()), "frozen": gc.get_freeze_count()}))
"""


def _environment(tmp_path: Path) -> dict[str, str]:
    """A SQLite app in a folder of the test's own."""
    return {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'heap.sqlite'}", "SECRET_KEY": "heap-test",
            "FIELD_ENCRYPTION_KEY": TEST_FIELD_KEY, "LOCKDESK_INSTANCE_PATH": str(tmp_path / "instance"),
            "PYTHONPATH": str(REPO)}


def test_a_gunicorn_worker_freezes_what_start_up_built(tmp_path):
    """After the hook, the collector tracks a small fraction of the objects start-up left behind."""
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=_environment(tmp_path),
                          capture_output=True, text=True, timeout=120, check=True)
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["frozen"] >= 0.9 * counts["before"]
    assert counts["after"] < counts["before"] / 10


def test_gunicorn_accepts_the_shipped_configuration(tmp_path):
    """`gunicorn -c python:app.gunicorn_config 'app:create_app()'` loads the hooks and the application."""
    done = subprocess.run([str(GUNICORN), "--check-config", "-c", "python:app.gunicorn_config", "app:create_app()"],
                          cwd=REPO, env=_environment(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
