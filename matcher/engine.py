"""The matching engine over a build: city table, partnership graph, trained ranker, recommender."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from matcher.embed import EmbeddingCache, embed_query
from matcher.features import Graph
from matcher.paths import PROJECT_ROOT, threads
from matcher.rank import PartnerRanker
from matcher.recommend import Recommender
from matcher.store import Build
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


@dataclass
class Engine:
    build: Build
    table: CityTable
    graph: Graph
    ranker: PartnerRanker
    recommender: Recommender

    @classmethod
    def open(cls, build: Build, n_jobs: int = 1) -> "Engine":
        cache = embedding_cache()
        table = city_table(build, cache)
        graph = full_graph(table, build)
        path = build.path / RANKER_FILE
        if not path.exists():
            raise FileNotFoundError(f"no trained ranker in {build.path}: run `matcher train`")
        ranker = PartnerRanker.load(path)
        ranker.n_jobs = n_jobs
        # Intents and described cities are embedded on demand, kept in memory, never written to the cache.
        return cls(build, table, graph, ranker, Recommender(table, graph, ranker, lru_cache(4096)(embed_query)))
