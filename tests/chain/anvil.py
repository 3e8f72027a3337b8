"""Run a real anvil node for tests: installed from npm into the ignored node_modules/ if missing."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]
PREFIX = REPO / "node_modules" / ".anvil"
PACKAGE = "@foundry-rs/anvil-linux-amd64"
BINARY = PREFIX / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def anvil_binary() -> Path | None:
    """The anvil executable: $ANVIL_BIN, one on PATH, or the npm package (installed on demand)."""
    if os.environ.get("ANVIL_BIN"):
        return Path(os.environ["ANVIL_BIN"])
    on_path = shutil.which("anvil")
    if on_path and not BINARY.exists():
        return Path(on_path)
    npm = shutil.which("npm")
    if npm is None and not BINARY.exists():
        return None
    PREFIX.mkdir(parents=True, exist_ok=True)
    # Test processes run side by side: one installs while the others wait, so nobody runs a half-written file.
    with open(PREFIX / ".install-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not BINARY.exists():
            subprocess.run([npm, "install", "--prefix", str(PREFIX), PACKAGE], check=False,
                           capture_output=True, timeout=300)
    return BINARY if BINARY.exists() else None


class Anvil:
    """One anvil process on 127.0.0.1 with its URL; stop() ends it."""

    def __init__(self, binary: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(binary), "--host", "127.0.0.1", "--port", str(self.port), "--silent"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()

    def rpc(self, method: str, params: list) -> object:
        """Call the node directly (test setup, not product code)."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        request = urllib.request.Request(self.url, body.encode(),
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]

    def _wait_ready(self) -> None:
        """Poll until the node answers (it starts in well under a second)."""
        for _ in range(200):
            try:
                self.rpc("eth_blockNumber", [])
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("anvil did not start")

    def stop(self) -> None:
        """Terminate the node."""
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
