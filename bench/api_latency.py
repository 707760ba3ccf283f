"""Sequential API latency of recommendations on a real server (target p99 <= 50 ms), its start-up and memory.

    .venv/bin/python bench/api_latency.py [--home MATCHER_HOME] [--cities 300] [--threads 1]

Starts `matcher serve` (uvicorn, one worker, MATCHER_API_THREADS=1) on a free port and times launch to the first
200 from /readyz, and the app's own log of when the catalogue and then the sentence model were loaded. Then one
keep-alive client asks, one request at a time, GET /v1/cities/{id}/recommendations?k=10 for --cities distinct
catalogue cities with known partners (fixed seed; 10 other cities first, not counted), and a second pass over the
same cities with a filter or an intent each (the intents are 12 phrases: an intent is embedded once, then cached).
Latency is measured by the client: request sent to body read. Memory: VmRSS when ready, then VmRSS and VmHWM
of the server process.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import httpx

from common import machine, percentile
from matcher.paths import matcher_home
from serving import cities_with_partners, start, wait_for_embedder

TARGET_P99_MS = 50
WARM_UP = 10
INTENTS = ["wine growing and vineyards", "a port with ferries and fishing", "universities and research",
           "car manufacturing", "a ski resort in the mountains", "jazz and music festivals", "tech start-ups",
           "a river city with bridges", "football", "tea and rice farming", "a historic old town", "offshore wind"]
FILTERS = [{"countries": "FR,DE,IT,ES"}, {"continents": "AS", "min_population": 100_000}, {"diversity": 1},
           {"exclude_countries": "US,CN", "max_population": 2_000_000}, {"languages": "es,pt"},
           {"industries": "tourism"}, {"intent": None}]


def mixed(i: int) -> dict:
    params = dict(FILTERS[i % len(FILTERS)])
    if "intent" in params:
        params["intent"] = INTENTS[i // len(FILTERS) % len(INTENTS)]
    return params


def timed_pass(client: httpx.Client, ids: list[int], params_of) -> tuple[list[float], int]:
    """Milliseconds per request, and how many did not answer 200."""
    latencies, errors = [], 0
    for i, gid in enumerate(ids):
        started = time.perf_counter()
        response = client.get(f"/v1/cities/{gid}/recommendations", params={"k": 10, **params_of(i)})
        latencies.append((time.perf_counter() - started) * 1000)
        errors += response.status_code != 200
    return latencies, errors


def summary(name: str, latencies: list[float], errors: int) -> float:
    p99 = percentile(latencies, 0.99)
    print(f"{name:<28} n={len(latencies)}  p50 {percentile(latencies, 0.5):6.1f}  p90 "
          f"{percentile(latencies, 0.9):6.1f}  p99 {p99:6.1f}  max {max(latencies):6.1f} ms  errors {errors}")
    return p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, default=matcher_home())
    parser.add_argument("--cities", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1, help="MATCHER_API_THREADS")
    args = parser.parse_args()
    ids = cities_with_partners(args.home, args.cities + WARM_UP)
    warm, ids = ids[:WARM_UP], ids[WARM_UP:]
    print(f"machine: {machine()}")
    server = start(args.home, threads=args.threads)
    try:
        print(f"start-up: launch to /readyz 200 in {server.ready_s:.1f} s; RSS then {server.memory_mb()[0]:.0f} MB")
        events = wait_for_embedder(server)
        print(f"          the app: catalogue, model and index loaded {events['ready']:.1f} s, sentence model "
              f"{events['embedder_ready']:.1f} s after its loading began")
        rss, peak, pss = server.memory_mb()
        print(f"memory after start-up: RSS {rss:.0f} MB, peak {peak:.0f} MB, PSS {pss:.0f} MB")
        with httpx.Client(base_url=server.url, timeout=30) as client:
            timed_pass(client, warm, lambda i: {})
            plain = summary("k=10, no filter", *timed_pass(client, ids, lambda i: {}))
            filtered = summary("k=10, a filter or an intent", *timed_pass(client, ids, mixed))
        rss, peak, pss = server.memory_mb()
        print(f"memory after the passes: RSS {rss:.0f} MB, peak {peak:.0f} MB, PSS {pss:.0f} MB "
              f"(MATCHER_API_THREADS={args.threads}, 1 worker)")
        print(f"access log lines: {len(server.access_lines())}")
    finally:
        server.stop()
    print(f"load after: {machine()}")
    for name, p99 in (("no filter", plain), ("filters/intent", filtered)):
        print(f"p99 {name}: {p99:.1f} ms (target <= {TARGET_P99_MS}: {'met' if p99 <= TARGET_P99_MS else 'NOT met'})")


if __name__ == "__main__":
    main()
