"""`python -m bench.bundle`: the time to write the evidence bundle of a case with 20 files and a depth-3 trace."""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from PIL import Image

from app import create_app
from app.cli import upgrade_database
from incidents.staff import create_staff
from tests.factories import bearer, exchange_account, report_body
from tests.handoff.support import SIGNING_SEED, finished_trace

FILES = 20


def photo(index: int) -> bytes:
    """A phone-sized JPEG screenshot (re-encoded on upload like any image)."""
    image = Image.effect_noise((1170, 2532), 40 + index).convert("RGB")
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=85)
    return output.getvalue()


def measure(folder: Path, *, runs: int) -> dict:
    """Set up the case on SQLite, then write its bundle `runs` times in each language."""
    os.environ["LOCKDESK_INSTANCE_PATH"] = str(folder)  # the files are stored under it
    upgrade_database(f"sqlite:///{folder / 'bench.sqlite'}")
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite'}", "SECRET_KEY": "bench",
                      "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(), "ANOMALY_WEBHOOK_SECRET": "bench",
                      "WORKER_ENABLED": False, "SIGNING_KEY": SIGNING_SEED, "REPORT_RATE_LIMIT": "1000 per minute"})
    client = app.test_client()
    exchange_account(app, "U1001")
    answer = client.post("/api/v1/reports", json=report_body("U1001")).json
    incident_id, owner = answer["incident"]["id"], bearer(answer["access_token"])
    sizes = []
    for index in range(FILES):
        data = photo(index)
        uploaded = client.post(f"/api/v1/incidents/{incident_id}/attachments", headers=owner,
                               data={"file": (io.BytesIO(data), f"photo-{index}.jpg")},
                               content_type="multipart/form-data")
        assert uploaded.status_code == 201, uploaded.json
        sizes.append(uploaded.json["size"])
    finished_trace(app, incident_id, depth=3, fan_out=4)
    with app.extensions["lockdesk"].sessions() as session:
        agent = bearer(create_staff(session, name="bench-agent", role="agent").token)
    result = {"files": FILES, "attachment_bytes": sum(sizes), "trace_depth": 3, "runs": runs}
    for language in ("en", "zh-CN"):
        seconds, cpu, size = [], [], 0
        for _ in range(runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            written = client.get(f"/api/v1/incidents/{incident_id}/evidence-bundle", headers=agent,
                                 query_string={"language": language})
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)  # wall time on a shared machine says little alone
            assert written.status_code == 200, written.data[:200]
            size = len(written.data)
        result[language] = {"median_seconds": round(statistics.median(seconds), 3),
                            "max_seconds": round(max(seconds), 3),
                            "median_cpu_seconds": round(statistics.median(cpu), 3), "bundle_bytes": size}
    result["load_average"] = os.getloadavg()
    return result


def main() -> None:
    """Measure and print the numbers as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(measure(Path(folder), runs=args.runs), indent=2))


if __name__ == "__main__":
    main()
