"""The API under 16 concurrent clients on loopback (targets: >= 150 requests/s, p99 <= 150 ms, no errors, resident
memory <= 1.5 GB).

    .venv/bin/python bench/api_load.py [--workers 2] [--clients 16] [--seconds 60 | --requests N] [--repeat]

Starts `matcher serve --workers N` (MATCHER_API_THREADS=1; from 2 workers on, they are forked from a process that
loaded the engine and share it) on a free port and waits until /readyz answers and the sentence model is loaded.
Then 16 clients, each on its own keep-alive connection, send GET /v1/cities/{id}/recommendations?k=10 one after
another for --seconds (or until --requests were sent), every request for a different catalogue city with known
partners (fixed seed; the ids cycle only when there are fewer such cities than requests). --repeat sends the same 64
cities over and over instead: identical requests, what a response cache would help with. The clients are one asyncio
loop writing plain HTTP/1.1 on sockets: a few tens of microseconds per request, so that the 2 cores go to the
server. Latency is request written to body read; an error is a status other than 200 or a broken connection. Memory:
VmRSS, VmHWM and PSS summed over the server and its workers; the target is checked on PSS (RSS counts shared pages
once per process).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from pathlib import Path

from common import machine, percentile
from matcher.paths import matcher_home
from serving import cities_with_partners, start, wait_for_embedder

TARGET_RPS, TARGET_P99_MS, TARGET_RSS_MB = 150, 150, 1536


async def fetch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    """One GET on an open keep-alive connection; the status (the body is read and dropped)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length:"))
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def client(port: int, paths, deadline: float, latencies: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for path in paths:
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            try:
                status = await fetch(reader, writer, path)
            except (OSError, asyncio.IncompleteReadError, StopIteration, ValueError) as exc:
                errors.append(f"{type(exc).__name__}")
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors.append(str(status))
    finally:
        writer.close()


async def load(port: int, ids: list[int], clients: int, seconds: float, requests: int | None):
    paths = (f"/v1/cities/{gid}/recommendations?k=10" for gid in itertools.cycle(ids))
    if requests:
        paths = itertools.islice(paths, requests)
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    # One shared iterator: each path is taken by exactly one client, so no two requests are the same.
    await asyncio.gather(*(client(port, paths, started + seconds, latencies, errors) for _ in range(clients)))
    return latencies, errors, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, default=matcher_home())
    parser.add_argument("--workers", type=int, default=2)  # what the README recommends for traffic
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--requests", type=int, default=None, help="stop after this many (else after --seconds)")
    parser.add_argument("--repeat", action="store_true", help="the same 64 cities over and over")
    args = parser.parse_args()
    ids = cities_with_partners(args.home, 64 if args.repeat else 20_000, seed=1)
    print(f"machine: {machine()}")
    server = start(args.home, workers=args.workers)
    try:
        wait_for_embedder(server)
        print(f"start-up: launch to /readyz 200 in {server.ready_s:.1f} s ({args.workers} worker(s); sentence "
              f"model loaded {server.events['embedder_ready']:.1f} s after loading began)")
        print(f"load before: {machine()}")
        cpu = server.cpu_seconds()
        latencies, errors, elapsed = asyncio.run(load(server.port, ids, args.clients, args.seconds, args.requests))
        cpu = server.cpu_seconds() - cpu
        rss, peak, pss = server.memory_mb()
    finally:
        server.stop()
    rate = len(latencies) / elapsed
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    kinds = {kind: errors.count(kind) for kind in sorted(set(errors))}
    print(f"load after: {machine()}")
    print(f"{args.clients} clients, {'the same 64' if args.repeat else 'distinct'} cities, {elapsed:.0f} s: "
          f"{len(latencies)} answers, {rate:.1f} requests/s; latency p50 {p50:.0f} ms, p90 "
          f"{percentile(latencies, 0.9):.0f} ms, p99 {p99:.0f} ms, max {max(latencies):.0f} ms; errors "
          f"{len(errors)} {kinds or ''}")
    print(f"server CPU: {cpu:.0f} s in {elapsed:.0f} s ({cpu / elapsed:.2f} cores busy), "
          f"{cpu * 1000 / len(latencies):.1f} ms per answer")
    print(f"memory: PSS {pss:.0f} MB, RSS {rss:.0f} MB, peak RSS {peak:.0f} MB ({args.workers} worker(s) and the "
          "process they were forked from)" if args.workers > 1 else f"memory: PSS {pss:.0f} MB, RSS {rss:.0f} MB, "
          f"peak RSS {peak:.0f} MB")
    for name, met in (("requests/s >= 150", rate >= TARGET_RPS), ("p99 <= 150 ms", p99 <= TARGET_P99_MS),
                      ("no errors", not errors), ("memory (PSS) <= 1.5 GB", pss <= TARGET_RSS_MB)):
        print(f"  {name}: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
