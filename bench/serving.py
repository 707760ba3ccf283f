"""What the API benchmarks share: a real `matcher serve` on a free port, its start-up time and its memory."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psutil

from common import MATCHER
from matcher.store import Build


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path
    ready_s: float = 0.0
    events: dict[str, float] = field(default_factory=dict)  # the app's own 'ready' and 'embedder_ready' times

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def processes(self) -> list[psutil.Process]:
        return [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]

    def memory_mb(self) -> tuple[float, float, float]:
        """Resident memory now, at its peak (VmHWM), and proportional (PSS: a page shared by n processes counts
        1/n in each), summed over the server and its worker processes. Forked workers share the engine, so RSS
        counts it once per process while PSS counts it once."""
        processes = self.processes()
        return (sum(p.memory_info().rss for p in processes) / 2**20, sum(_peak_kb(p.pid) for p in processes) / 1024,
                sum(p.memory_full_info().pss for p in processes) / 2**20)

    def cpu_seconds(self) -> float:
        """User and system CPU time so far, summed over the server and its worker processes."""
        return sum(sum(p.cpu_times()[:2]) for p in self.processes())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)

    def access_lines(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if '"status"' in line]


def _peak_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(home: Path, workers: int = 1, threads: int = 1, timeout: float = 300) -> Server:
    """`matcher serve` with MATCHER_API_THREADS=threads; returns once /readyz answers 200 (polled every 50 ms),
    with the seconds from launch to that answer, and to the app's log events once the embedder is loaded."""
    port, log = free_port(), Path(tempfile.mkstemp(prefix="matcher-serve-", suffix=".log")[1])
    env = {**os.environ, "MATCHER_HOME": str(home), "MATCHER_API_THREADS": str(threads)}
    started = time.perf_counter()
    process = subprocess.Popen([MATCHER, "serve", "--port", str(port), "--workers", str(workers)], env=env,
                               stdout=subprocess.DEVNULL, stderr=log.open("w"))
    server = Server(process, port, log)
    with httpx.Client() as client:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                raise SystemExit(f"matcher serve exited ({process.returncode}):\n{log.read_text()[-2000:]}")
            try:
                if client.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                    server.ready_s = time.perf_counter() - started
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        else:
            server.stop()
            raise SystemExit(f"not ready after {timeout} s:\n{log.read_text()[-2000:]}")
    return server


def wait_for_embedder(server: Server, timeout: float = 120) -> dict[str, float]:
    """The app's own 'ready' and 'embedder_ready' seconds, from its log (several workers load once, before they
    are forked)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events: dict[str, list[float]] = {}
        for line in server.log.read_text().splitlines():
            if line.startswith('{"event"'):
                event = json.loads(line)
                events.setdefault(event["event"], []).append(event.get("seconds", 0.0))
        if events.get("embedder_ready"):
            server.events = {name: max(values) for name, values in events.items()}
            return server.events
        time.sleep(0.2)
    raise SystemExit(f"the embedder was not loaded after {timeout} s")


def cities_with_partners(home: Path, count: int, seed: int = 0) -> list[int]:
    """Distinct catalogue cities that have known partners, drawn at random (fixed seed)."""
    cities = Build.open(home).cities
    ids = cities.index[cities["partner_count"] > 0].to_numpy()
    return np.random.default_rng(seed).choice(ids, min(count, len(ids)), replace=False).tolist()
