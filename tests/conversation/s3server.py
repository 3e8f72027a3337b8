"""A real S3-compatible server for the tests: moto in server mode, a subprocess on a free port, over HTTP."""
from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from tests import services


@dataclass(frozen=True)
class S3Server:
    """Where the server listens and the credentials it takes."""

    endpoint_url: str
    access_key_id: str = "lockdesk-test"
    secret_access_key: str = "lockdesk-test-secret"
    region: str = "us-east-1"


@contextmanager
def running_s3_server() -> Iterator[S3Server]:
    """Start `python -m moto.server` on a free port, wait until it answers, stop it afterwards."""
    services.require("s3")
    port = services.free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield S3Server(endpoint_url=url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll the server until it answers over HTTP."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the S3 server exited with {process.returncode}")
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("the S3 server did not start in time")


def create_bucket(server: S3Server, name: str) -> None:
    """Create a bucket through boto3, as an operator would."""
    import boto3

    boto3.client("s3", endpoint_url=server.endpoint_url, region_name=server.region,
                 aws_access_key_id=server.access_key_id,
                 aws_secret_access_key=server.secret_access_key).create_bucket(Bucket=name)


def s3_settings(server: S3Server, bucket: str) -> dict:
    """The application's settings for the `s3` store on this server."""
    return {"ATTACHMENT_STORE": "s3", "S3_ENDPOINT_URL": server.endpoint_url, "S3_BUCKET": bucket,
            "S3_REGION": server.region, "S3_ACCESS_KEY_ID": server.access_key_id,
            "S3_SECRET_ACCESS_KEY": server.secret_access_key}
