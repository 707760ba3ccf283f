"""`matcher recommend --batch FILE --k 20`: throughput in queries/s (target >= 50), start-up and loading apart.

    .venv/bin/python bench/batch.py [--home MATCHER_HOME] [--queries 300] [--repeat 3] [--jobs 2]

The queries are catalogue ids drawn at random (fixed seed) from the build's default pool. The rate counts from the
first result line to the last, so process start-up and engine loading are left out; they are measured on their
own: `matcher --help` (start-up) and a batch of no ids (start-up and loading). `--jobs`: the batch's processes (forked
once the engine is loaded), each with one thread (MATCHER_JOBS=1 for BLAS).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common import MATCHER, machine, median
from matcher.paths import matcher_home
from matcher.store import Build

TARGET_QPS = 50


def threads_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


@dataclass
class Run:
    arrivals: list[float]   # seconds from launch to each output line
    ended: float            # seconds from launch to exit
    cpu: float              # user + system seconds of the process
    threads: int            # the process's threads while it answered (0: it printed fewer than two lines)
    errors: int             # lines reporting an error


def batch_command(ids: Path, k: int, jobs: int) -> list:
    return [MATCHER, "recommend", "--batch", ids, "--k", str(k), "--jobs", str(jobs)]


def launch(command: list, home: Path) -> Run:
    started = time.perf_counter()
    process = subprocess.Popen(command, env={**os.environ, "MATCHER_HOME": str(home)}, stdout=subprocess.PIPE,
                               text=True)
    arrivals, threads, errors = [], 0, 0
    for line in process.stdout:
        arrivals.append(time.perf_counter() - started)
        errors += '"error"' in line
        if len(arrivals) == 2:
            threads = threads_of(process.pid)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed")
    return Run(arrivals, time.perf_counter() - started, usage.ru_utime + usage.ru_stime, threads, errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, default=matcher_home())
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="processes answering the batch")
    args = parser.parse_args()
    os.environ["MATCHER_JOBS"] = "1"
    cities = Build.open(args.home).cities
    pool = cities.index[cities["in_default_pool"]].to_numpy()
    ids = np.random.default_rng(0).choice(pool, args.queries, replace=False)
    print(f"machine: {machine()}")
    print(f"build: {args.home} ({len(cities):,} cities, {len(pool):,} in the default pool); "
          f"{args.queries} queries, k={args.k}, {args.jobs} processes")
    with tempfile.TemporaryDirectory() as folder:
        ids_file, empty = Path(folder) / "ids.txt", Path(folder) / "empty.txt"
        ids_file.write_text("\n".join(map(str, ids)) + "\n")
        empty.write_text("")
        startup = [launch([MATCHER, "--help"], args.home) for _ in range(args.repeat)]
        loading = [launch(batch_command(empty, args.k, args.jobs), args.home) for _ in range(args.repeat)]
        rates, cpu_per_query = [], []
        for run in range(args.repeat):
            result = launch(batch_command(ids_file, args.k, args.jobs), args.home)
            rate = (len(result.arrivals) - 1) / (result.arrivals[-1] - result.arrivals[0])
            cpu = (result.cpu - median([r.cpu for r in loading])) / len(result.arrivals)
            rates.append(rate)
            cpu_per_query.append(cpu)
            print(f"run {run + 1}: {rate:6.1f} queries/s ({len(result.arrivals)} results, {result.errors} errors), "
                  f"{cpu * 1000:.1f} ms CPU a query, first result after {result.arrivals[0]:.1f} s, "
                  f"{result.threads} threads in the main process")
    print(f"process start-up (matcher --help): {median([r.ended for r in startup]):.2f} s; start-up and engine "
          f"loading (empty batch): {median([r.ended for r in loading]):.2f} s wall, "
          f"{median([r.cpu for r in loading]):.2f} s CPU (medians of {args.repeat})")
    print(f"load after: {machine()}")
    rate = median(rates)
    cpu = median(cpu_per_query)
    print(f"batch throughput: median {rate:.1f} queries/s over {args.repeat} runs "
          f"(target >= {TARGET_QPS}: {'met' if rate >= TARGET_QPS else 'NOT met'}); {1000 / rate:.1f} ms a query "
          f"wall, {cpu * 1000:.1f} ms CPU of all processes (on {args.jobs} idle cores: "
          f"{args.jobs / cpu:.0f} queries/s)")


if __name__ == "__main__":
    main()
