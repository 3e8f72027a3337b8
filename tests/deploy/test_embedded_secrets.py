"""The embedded setup's generated secrets: made once, written atomically, the same in every process."""
from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

from app.secrets import GENERATORS, fill_missing

PROCESSES = 8


def _start_and_report(instance: str, barrier, results) -> None:
    """One process starting: wait for the others, then fill the secrets like the factory does."""
    config: dict = {}
    barrier.wait()
    fill_missing(config, instance)
    results.put(json.dumps(config, sort_keys=True))


def test_processes_starting_together_all_get_the_same_secrets(tmp_path):
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    workers = [context.Process(target=_start_and_report, args=(str(tmp_path), barrier, results))
               for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    seen = {results.get(timeout=30) for _ in workers}
    for worker in workers:
        worker.join(timeout=30)
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    assert len(seen) == 1
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert json.loads(seen.pop()) == stored and set(stored) == set(GENERATORS)


def test_the_secrets_file_is_private_and_no_temporary_file_is_left(tmp_path):
    fill_missing({}, str(tmp_path))
    assert oct((tmp_path / "secrets.json").stat().st_mode & 0o777) == "0o600"
    assert sorted(path.name for path in tmp_path.iterdir()) == [".secrets.json.lock", "secrets.json"]


def test_a_given_secret_is_kept_and_only_the_missing_ones_are_generated(tmp_path):
    config = {"SECRET_KEY": "given"}
    assert sorted(fill_missing(config, str(tmp_path))) == ["ANOMALY_WEBHOOK_SECRET", "FIELD_ENCRYPTION_KEY"]
    assert config["SECRET_KEY"] == "given" and "SECRET_KEY" not in json.loads((tmp_path / "secrets.json").read_text())


def test_gunicorn_workers_starting_together_share_one_field_key(tmp_path):
    """Four gunicorn workers on the embedded setup: every worker boots, all with the same key."""
    import time

    instance, probes = tmp_path / "instance", tmp_path / "probes"
    probes.mkdir()
    env = {**os.environ, "LOCKDESK_ENV": "development", "LOCKDESK_INSTANCE_PATH": str(instance),
           "DATABASE_URL": f"sqlite:///{tmp_path}/lockdesk.sqlite", "WORKER_ENABLED": "0",
           "KEY_PROBE_DIR": str(probes)}
    for name in GENERATORS:
        env.pop(name, None)
    gunicorn = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:app.gunicorn_config", "--workers", "4",
         "--bind", "127.0.0.1:0", "tests.deploy.key_probe:app"],
        cwd=Path(__file__).resolve().parents[2], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(list(probes.iterdir())) < 4 and time.monotonic() < deadline and gunicorn.poll() is None:
            time.sleep(0.1)
    finally:
        gunicorn.terminate()
        output = gunicorn.communicate(timeout=30)[0]
    keys = {path.read_text() for path in probes.iterdir()}
    assert len(list(probes.iterdir())) == 4, output
    assert "Worker failed to boot" not in output and "JSONDecodeError" not in output
    assert keys == {json.loads((instance / "secrets.json").read_text())["FIELD_ENCRYPTION_KEY"]}
