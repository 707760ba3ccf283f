"""Recommendation latency (in-process `Recommender.for_city`, k=20) versus catalogue size, with a profile.

    .venv/bin/python bench/scale.py [--sizes 1000000,20000,2000] [--root /tmp/matcher-scale] [--ranker FILE]
                                    [--queries 200] [--profile]

Each size is a `matcher build --no-train --min-population N` on the reference tables (places a partnership or a
profile names are always in, so 1,000,000 gives ~16k cities, 20,000 ~36k, 2,000 ~113k), built once under --root
and reused. The trained ranker of the build in MATCHER_HOME (or --ranker) is copied into each: its features do
not depend on the catalogue's size. The builds use their own embedding cache (--root/cache, seeded from the
project's) so the project's cache does not grow by the small towns' texts. Every size answers the same queries:
ids drawn (fixed seed) from the default pool of the smallest catalogue, which all larger ones contain.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from common import ROOT, machine, median, percentile, reference_build_command
from matcher.embed import CACHE_FILE
from matcher.engine import RANKER_FILE, Engine
from matcher.paths import matcher_home
from matcher.rank import PartnerRanker
from matcher.store import Build

K, WARM_UP = 20, 20


def build_home(root: Path, min_population: int) -> tuple[Path, float | None]:
    """The build of this size under `root`, made if missing; its build seconds when made now."""
    home = root / str(min_population)
    if (home / "current" / "manifest.json").exists():
        return home, None
    started = time.perf_counter()
    subprocess.run(reference_build_command("--no-train", "--min-population", str(min_population)), check=True,
                   env={**os.environ, "MATCHER_HOME": str(home)}, stdout=subprocess.DEVNULL)
    return home, time.perf_counter() - started


def rss_gb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) / 2**20


def latencies(engine: Engine, ids: list[int]) -> list[float]:
    for gid in ids[:WARM_UP]:
        engine.recommender.for_city(gid, K)
    times = []
    for gid in ids:
        started = time.perf_counter()
        engine.recommender.for_city(gid, K)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000,20000,2000", help="--min-population of each build")
    parser.add_argument("--root", type=Path, default=Path("/tmp/matcher-scale"))
    parser.add_argument("--ranker", type=Path, default=matcher_home() / "current" / RANKER_FILE)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="cProfile the queries on the largest catalogue")
    args = parser.parse_args()
    try:
        PartnerRanker.load(args.ranker)
    except (OSError, ValueError) as exc:  # missing, or trained by another version of the model
        raise SystemExit(f"{exc}\nretrain it (`matcher train` on its build) or pass --ranker") from None
    os.environ["MATCHER_JOBS"] = "1"
    cache = args.root / "cache"
    os.environ["MATCHER_CACHE"] = str(cache)
    if not (cache / CACHE_FILE).exists():
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "build" / "cache" / CACHE_FILE, cache)
    print(f"machine: {machine()}; ranker {args.ranker}")
    homes = []
    for min_population in sorted(map(int, args.sizes.split(",")), reverse=True):  # smallest catalogue first
        home, built = build_home(args.root, min_population)
        shutil.copy(args.ranker, Build.open(home).path / RANKER_FILE)
        homes.append((min_population, home, built))
        print(f"build --min-population {min_population:,}: " + (f"{built:.0f} s" if built else "reused"))

    smallest = Build.open(homes[0][1]).cities
    pool = smallest.index[smallest["in_default_pool"]].to_numpy()
    ids = [int(i) for i in np.random.default_rng(0).choice(pool, args.queries, replace=False)]
    rows = []
    for min_population, home, built in homes:
        started = time.perf_counter()
        engine = Engine.open(Build.open(home))
        opened = time.perf_counter() - started
        times = latencies(engine, ids)
        rows.append((min_population, len(engine.table.ids), int(engine.recommender.pool.sum()), built, opened,
                     median(times) * 1000, percentile(times, 0.99) * 1000, rss_gb()))
        if args.profile and home == homes[-1][1]:
            profiler = cProfile.Profile()
            profiler.runcall(latencies, engine, ids)
            stats = pstats.Stats(profiler).strip_dirs()
            print(f"\nprofile of {len(ids) + WARM_UP} queries on {len(engine.table.ids):,} cities:")
            stats.sort_stats("tottime").print_stats(18)
            stats.sort_stats("cumulative").print_stats(25)
        del engine
        gc.collect()

    print(f"\nload after: {machine()}")
    print("min_pop    cities    pool  build s  open s  median ms  p99 ms  RSS GB  size x  latency x  latency/size")
    base_size, base_latency = rows[0][2], rows[0][5]
    for min_population, cities, pool_size, built, opened, med, p99, rss in rows:
        size_x, latency_x = pool_size / base_size, med / base_latency
        built_s = f"{built:.0f}" if built else "reused"
        print(f"{min_population:>9,} {cities:>8,} {pool_size:>7,} {built_s:>8} {opened:>7.1f} "
              f"{med:>10.1f} {p99:>7.1f} {rss:>7.2f} {size_x:>7.2f} {latency_x:>10.2f} {latency_x / size_x:>13.2f}")
    print("size x and latency x are against the smallest catalogue's default pool (the candidates a query scores); "
          "latency/size <= 1 is linear or better.")


if __name__ == "__main__":
    main()
