from __future__ import annotations

import os
from pathlib import Path

import pytest

from matcher import paths
from matcher.resolve import Resolver
from matcher.sources.context import admin1_names
from matcher.sources.gazetteer import load_places

os.environ.setdefault("MATCHER_JOBS", "1")  # one thread for LightGBM and torch on shared 2-core machines

SHARED = paths.shared_data()
LINKS_CSV = SHARED / "links" / "twin_cities_wikipedia.csv"
MIGRATION_CSV = SHARED / "migration" / "un_desa_migrant_stock_bilateral.csv"
needs_shared = pytest.mark.skipif(not LINKS_CSV.exists(), reason=f"reference data not found at {SHARED}")


@pytest.fixture(scope="session")
def places():
    return load_places()


@pytest.fixture(scope="session")
def resolver(places):
    # Admin-1 names from the context folder when present; US states otherwise.
    return Resolver(places, admin1_names(paths.context_dir()))


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("MATCHER_HOME", str(folder))
    return folder


def write_links(path: Path, rows: list[str], header: str = "city1,country1,lat1,lng1,city2,country2,lat2,lng2") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def curated_build(tmp_path_factory):
    """A full build from the curated profiles alone (no link tables): catalogue, pairs and a trained ranker."""
    from matcher.build import run_build
    from matcher.store import Build

    home = tmp_path_factory.mktemp("curated")
    run_build(home, [], [MIGRATION_CSV] if MIGRATION_CSV.exists() else [], paths.context_dir())
    return Build.open(home)


@pytest.fixture(scope="session")
def engine(curated_build):
    from matcher.engine import Engine

    return Engine.open(curated_build)


@pytest.fixture(scope="session")
def reference_build(tmp_path_factory):
    """The full build on ../shared/data with a trained ranker, made once per test run (mark tests needs_shared)."""
    from matcher.build import run_build
    from matcher.store import Build

    home = tmp_path_factory.mktemp("reference")
    run_build(home, [LINKS_CSV], [MIGRATION_CSV], paths.context_dir())
    return Build.open(home)


@pytest.fixture(scope="session")
def reference_engine(reference_build):
    from matcher.engine import Engine

    return Engine.open(reference_build)
