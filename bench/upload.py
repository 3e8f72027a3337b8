"""`python -m bench.upload`: what one upload of a 10 MiB image costs, end to end through the application.

Each measurement runs in a fresh process: the app over a migrated SQLite database and the `file` store (or the
`s3` store when S3_ENDPOINT_URL and S3_BUCKET are set), one report filed, one small upload to warm up, then the
10 MiB image is POSTed as multipart through the WSGI stack (parse, sniff, decode and re-encode, encrypt, store,
audit, commit). Wall time is the request's; peak memory is the rise of the process's resident high-water mark
(VmHWM, reset before the request through /proc/self/clear_refs), so C allocations of Pillow count too.
Writes bench/upload_results.json and prints a table.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "upload_results.json"
MIB = 1024 * 1024
KINDS = ("png", "jpeg")


def image_of_about_10_mib(kind: str) -> bytes:
    """Noise compresses badly, so a photo-sized image of noise is as heavy as a real 10 MiB upload gets."""
    from PIL import Image

    size = (1800, 1900) if kind == "png" else (3600, 2700)
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    output = io.BytesIO()
    image.save(output, format="PNG" if kind == "png" else "JPEG", **({} if kind == "png" else {"quality": 92}))
    data = output.getvalue()
    if len(data) > 10 * MIB:
        raise SystemExit(f"the {kind} came out at {len(data)} bytes, over the 10 MiB limit")
    return data


def _status(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def measure_once(kind: str) -> dict:
    """One upload in this process (run as a child of the bench)."""
    from cryptography.fernet import Fernet

    from app import create_app
    from app.cli import upgrade_database
    from exchange_sim.backoffice import NewAccount, add_account

    folder = Path(tempfile.mkdtemp(prefix="lockdesk-upload-bench-"))
    os.environ["LOCKDESK_INSTANCE_PATH"] = str(folder)
    url = f"sqlite:///{folder / 'bench.sqlite'}"
    upgrade_database(url)
    settings = {"DATABASE_URL": url, "SECRET_KEY": "bench", "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "WORKER_ENABLED": False, "REPORT_RATE_LIMIT": "1000 per minute",
                "REPORT_ACCOUNT_RATE_LIMIT": "1000 per minute", "SMS_LOG_PATH": str(folder / "sms.jsonl")}
    if os.environ.get("S3_ENDPOINT_URL") and os.environ.get("S3_BUCKET"):
        settings["ATTACHMENT_STORE"] = "s3"
    app = create_app(settings)
    with app.extensions["lockdesk"].sessions() as session:
        add_account(session, account=NewAccount(account_id="B1", email="b@example.com", phone="+15550001",
                                                totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"))
    client = app.test_client()
    answer = client.post("/api/v1/reports", json={"account_id": "B1", "kind": "stolen_account"}).get_json()
    path = f"/api/v1/incidents/{answer['incident']['id']}/attachments"
    headers = {"Authorization": f"Bearer {answer['access_token']}"}
    data = image_of_about_10_mib(kind)
    warm = _small_png()
    assert client.post(path, headers=headers, data={"file": (io.BytesIO(warm), "w.png")},
                       content_type="multipart/form-data").status_code == 201
    body = {"file": (io.BytesIO(data), f"photo.{kind}")}
    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
    before = _status("VmRSS")
    started = time.perf_counter()
    response = client.post(path, headers=headers, data=body, content_type="multipart/form-data")
    seconds = time.perf_counter() - started
    peak = _status("VmHWM")
    assert response.status_code == 201, response.get_json()
    return {"kind": kind, "bytes_in": len(data), "bytes_stored": response.get_json()["size"], "seconds": seconds,
            "peak_rise_bytes": peak - before, "store": settings.get("ATTACHMENT_STORE", "file")}


def _small_png() -> bytes:
    """A tiny PNG for the warm-up request."""
    from PIL import Image

    output = io.BytesIO()
    Image.new("RGB", (8, 8)).save(output, format="PNG")
    return output.getvalue()


def main(argv: list[str] | None = None) -> None:
    """Run every kind `--runs` times, each in a fresh process; write and print the results."""
    parser = argparse.ArgumentParser(prog="python -m bench.upload", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure_once(args.child)))
        return
    runs = {kind: [_run_child(kind) for _ in range(args.runs)] for kind in KINDS}
    summary = {kind: {"bytes_in": items[0]["bytes_in"], "bytes_stored": items[0]["bytes_stored"],
                      "store": items[0]["store"],
                      "median_seconds": statistics.median(item["seconds"] for item in items),
                      "max_seconds": max(item["seconds"] for item in items),
                      "median_peak_rise_mib": statistics.median(item["peak_rise_bytes"] for item in items) / MIB,
                      "max_peak_rise_mib": max(item["peak_rise_bytes"] for item in items) / MIB}
               for kind, items in runs.items()}
    result = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform()}, "runs": runs, "summary": summary}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'image':<6} {'in (MiB)':>9} {'stored (MiB)':>13} {'median s':>9} {'max s':>7} {'peak +MiB':>10}")
    for kind, line in summary.items():
        print(f"{kind:<6} {line['bytes_in'] / MIB:>9.2f} {line['bytes_stored'] / MIB:>13.2f} "
              f"{line['median_seconds']:>9.2f} {line['max_seconds']:>7.2f} {line['max_peak_rise_mib']:>10.1f}")


def _run_child(kind: str) -> dict:
    """One measurement in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-m", "bench.upload", "--child", kind], cwd=REPO, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
