"""`matcher build` on the reference link tables: wall time and peak memory (targets: <= 180 s, <= 3 GB).

    .venv/bin/python bench/build.py [--repeat N] [--home DIR] [-- extra build options, e.g. --min-population 2000]

The embedding cache ($MATCHER_CACHE, else build/cache) should be warm: the script says how many texts the build
had to embed. Without --home each run builds into a fresh temporary MATCHER_HOME, removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from common import ROOT, machine, median, reference_build_command
from matcher.embed import CACHE_FILE

WALL_TARGET_S, MEMORY_TARGET_GB = 180, 3.0
STEP = re.compile(r"^\[\s*([\d.]+)s\] (.*)$")


def cached_texts() -> int:
    cache = Path(os.environ.get("MATCHER_CACHE") or ROOT / "build" / "cache") / CACHE_FILE
    return len(np.load(cache)["keys"]) if cache.exists() else 0


def timed_build(home: Path, extra: list[str]) -> tuple[float, float, list[str]]:
    """Wall seconds, peak resident GB (wait4: this build's process and the children it waited for), progress."""
    started = time.perf_counter()
    process = subprocess.Popen(reference_build_command(*extra), env={**os.environ, "MATCHER_HOME": str(home)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    progress = process.stderr.read().splitlines()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("build failed:\n" + "\n".join(progress))
    return wall, usage.ru_maxrss / 2**20, progress  # ru_maxrss is in KiB on Linux


def step_times(progress: list[str]) -> list[tuple[float, str]]:
    """Each progress step with the seconds it took (until the next step started)."""
    steps = [(float(m[1]), m[2]) for line in progress if (m := STEP.match(line))]
    return [(end - start, text) for (start, text), (end, _) in zip(steps, steps[1:])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--home", type=Path, help="build into this MATCHER_HOME and keep it")
    parser.add_argument("extra", nargs="*", help="more `matcher build` options (after --)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    texts_before = cached_texts()
    walls, peaks = [], []
    for run in range(args.repeat):
        home = args.home or Path(tempfile.mkdtemp(prefix="matcher-bench-build-"))
        try:
            wall, peak, progress = timed_build(home, args.extra)
        finally:
            if not args.home:
                shutil.rmtree(home, ignore_errors=True)
        walls.append(wall)
        peaks.append(peak)
        print(f"run {run + 1}: {wall:6.1f} s, peak RSS {peak:.2f} GB")
        for seconds, text in step_times(progress):
            print(f"    {seconds:6.1f} s  {text}")
    embedded = cached_texts() - texts_before
    print(f"embedding cache: {texts_before:,} texts before, {embedded:,} embedded by these builds"
          + ("" if not embedded else " (the cache was not warm: the first run's time includes embedding)"))
    print(f"load after: {machine()}")
    wall, peak = median(walls), max(peaks)
    print(f"build: median {wall:.1f} s over {len(walls)} run(s) (target <= {WALL_TARGET_S} s: "
          f"{'met' if wall <= WALL_TARGET_S else 'NOT met'}); peak RSS {peak:.2f} GB "
          f"(target <= {MEMORY_TARGET_GB} GB: {'met' if peak <= MEMORY_TARGET_GB else 'NOT met'})")


if __name__ == "__main__":
    main()
