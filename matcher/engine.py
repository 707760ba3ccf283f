"""The matching engine over a build: city table, partnership graph, trained ranker, recommender."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from matcher.embed import EmbeddingCache, embed_query
from matcher.features import Graph
from matcher.paths import PROJECT_ROOT, threads
from matcher.rank import PartnerRanker
from matcher.recommend import Recommender
from matcher.store import Build, BuildMissing
from matcher.table import CityTable

RANKER_FILE = "ranker.json"


def embedding_cache() -> EmbeddingCache:
    """Embeddings are cached by text across builds ($MATCHER_CACHE, else build/cache in the project)."""
    return EmbeddingCache(Path(os.environ.get("MATCHER_CACHE") or PROJECT_ROOT / "build" / "cache"))


def city_table(build: Build, cache: EmbeddingCache | None = None) -> CityTable:
    return CityTable.build(build.cities, build.countries, build.migration, build.profiles,
                           cache or embedding_cache())


def full_graph(table: CityTable, build: Build) -> Graph:
    return table.graph(build.pairs["a"], build.pairs["b"])


def train(build: Build, table: CityTable | None = None, n_jobs: int | None = None, **params) -> PartnerRanker:
    """Fit the ranker on every known partnership of the build and save it into the build."""
    table = table or city_table(build)
    n_jobs = n_jobs or threads()
    pool = np.flatnonzero(table.cities["in_default_pool"].to_numpy(bool))
    ranker = PartnerRanker(n_jobs=n_jobs, **params).fit(table, full_graph(table, build), pool)
    ranker.save(build.path / RANKER_FILE)
    return ranker


def load_ranker(build: Build) -> PartnerRanker:
    """The build's trained ranker; BuildMissing, saying what to run, when it is absent or of another version."""
    path = build.path / RANKER_FILE
    if not path.exists():
        raise BuildMissing(f"no trained ranker in {build.path}: run `matcher train`")
    try:
        return PartnerRanker.load(path)
    except ValueError as exc:  # another model version: refused rather than loaded into wrong features
        raise BuildMissing(str(exc)) from None


@dataclass
class Engine:
    build: Build
    table: CityTable
    graph: Graph
    ranker: PartnerRanker
    recommender: Recommender

    @classmethod
    def open(cls, build: Build, n_jobs: int = 1) -> "Engine":
        ranker = load_ranker(build)  # first: an unusable ranker is refused before the slow part
        # Serving does small matrix products, many at once: idle BLAS threads only spin and slow the others
        # (seen: a 384 x 384 eigendecomposition took 3.7 s with two threads on a loaded machine, 0.07 s with one).
        threadpool_limits(n_jobs)
        cache = embedding_cache()
        table = city_table(build, cache)
        graph = full_graph(table, build)
        # Intents and described cities are embedded on demand, kept in memory, never written to the cache.
        recommender = Recommender(table, graph, ranker, lru_cache(4096)(embed_query))
        # One query now: the compiled loops are built, or read from numba's cache, before the first request (and
        # before serving or batch workers are forked from this process), not during it.
        recommender.for_city(int(table.ids[np.argmax(graph.degree)]))
        return cls(build, table, graph, ranker, recommender)
