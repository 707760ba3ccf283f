"""`matcher serve --workers 2`: workers forked from one loaded process answer alike and share the connections
evenly, one that dies is replaced, and SIGTERM stops them all."""

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil
import pytest

pytestmark = pytest.mark.slow  # the curated build, a real server

PORTLAND = 5746545


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not {what} after {seconds} s")


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_forked_workers_share_the_work_and_stop_together(curated_build, tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MATCHER_HOME": str(curated_build.path.parent.parent), "MATCHER_JOBS": "1"}
    log = tmp_path / "serve.log"
    server = subprocess.Popen([sys.executable, "-m", "matcher", "serve", "--port", str(port), "--workers", "2"],
                              env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        _wait(lambda: _ready(url), 180, "ready")
        workers = psutil.Process(server.pid).children()
        assert len(workers) == 2
        answers = {httpx.get(f"{url}/v1/cities/{PORTLAND}/recommendations", params={"k": 5}).text
                   for _ in range(6)}
        assert len(answers) == 1 and '"results"' in answers.pop()

        # Keep-alive clients that connect at once are dealt out in turn: 8 each, not all taken by the first worker
        # to wake, nor split 11 and 5 as the kernel's hashing of connections to sockets often did.
        burst = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
        try:
            for connection in burst:
                connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            assert all(connection.recv(4096).startswith(b"HTTP/1.1 200") for connection in burst)
            held = [sum(1 for c in w.net_connections("tcp") if c.laddr.port == port and c.status == "ESTABLISHED")
                    for w in workers]
            assert held == [8, 8], held
        finally:
            for connection in burst:
                connection.close()

        workers[0].kill()
        _wait(lambda: len(psutil.Process(server.pid).children()) == 2
              and workers[0].pid not in {p.pid for p in psutil.Process(server.pid).children()}, 30, "replaced")
        assert httpx.get(f"{url}/v1/cities/{PORTLAND}/recommendations").status_code == 200
        assert '"event": "worker_exited"' in log.read_text()

        remaining = psutil.Process(server.pid).children()
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
        _, alive = psutil.wait_procs(remaining, timeout=10)
        assert not alive
    finally:
        if server.poll() is None:
            server.kill()
