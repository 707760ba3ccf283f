"""What every benchmark needs: the project's paths, the reference inputs, and a line about the machine and load."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `.venv/bin/python bench/<name>.py` from anywhere

from matcher.paths import shared_data  # noqa: E402

MATCHER = Path(sys.executable).parent / "matcher"
LINKS = shared_data() / "links" / "twin_cities_wikipedia.csv"
MIGRATION = shared_data() / "migration" / "un_desa_migrant_stock_bilateral.csv"


def machine() -> str:
    """Cores, memory and the load averages: the machine is shared, so every figure is printed with its load."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    one, five, fifteen = os.getloadavg()
    threads = " ".join(f"{name}={os.environ.get(name, '-')}" for name in ("MATCHER_JOBS", "OPENBLAS_NUM_THREADS"))
    return (f"{os.cpu_count()} cores, {memory:.0f} GiB; load average {one:.2f} / {five:.2f} / {fifteen:.2f} "
            f"(1 / 5 / 15 min); {threads}; {time.strftime('%Y-%m-%d %H:%M:%S')}")


def reference_build_command(*extra: str) -> list[str]:
    """`matcher build` on the reference link and migration tables."""
    if not LINKS.exists():
        sys.exit(f"reference data not found at {shared_data()} (set MATCHER_SHARED)")
    return [str(MATCHER), "build", "--links", str(LINKS), "--migration", str(MIGRATION), *extra]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)
