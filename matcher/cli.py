"""The `matcher` command line."""

from __future__ import annotations

import gc
import json
import multiprocessing
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import typer

from matcher import paths
from matcher.errors import InputError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Partner-matching recommender for city twinning.")


@app.callback()
def _root() -> None:
    """Partner-matching recommender for city twinning."""


def _fail(message: str, code: int = 1) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@app.command()
def profiles(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per profile, one per line."),
    fill: list[Path] = typer.Option([], "--fill", help="Fill missing GeoNames ids in these profile files."),
    confirm: list[Path] = typer.Option([], "--confirm", help="Compare curated partners with these link tables."),
    check: list[Path] = typer.Option([], "--check", help="Validate only these profile files."),
) -> None:
    """Validate and list the curated city profiles in data/profiles."""
    from matcher.sources import profiles as curated
    from matcher.sources.context import admin1_names
    from matcher.sources.gazetteer import load_places

    places = load_places()
    from matcher.resolve import Resolver
    if fill:
        resolver = Resolver(places, admin1_names(paths.context_dir()), allow_new_places=False)
        for path in fill:
            typer.echo(f"{path}:")
            typer.echo("\n".join(curated.fill_ids(path, resolver, places)))
        return
    try:
        loaded = curated.load_profiles(places, only=check or None)
    except curated.ProfileError as exc:
        _fail(str(exc))
    if as_json:
        for profile in loaded:
            sys.stdout.write(json.dumps(curated.profile_record(profile), ensure_ascii=False) + "\n")
        return
    if check:
        loaded = [p for p in loaded if p.country in {path.stem for path in check}]
    if confirm:
        from matcher.sources.links import import_links, read_link_table
        resolver = Resolver(places, admin1_names(paths.context_dir()))
        imported = import_links({path.name: read_link_table(path) for path in confirm}, resolver)
        pairs = set(zip(imported.pairs["a"], imported.pairs["b"]))
        typer.echo(json.dumps(curated.confirm_partners(loaded, pairs), indent=2, ensure_ascii=False))
        return
    if check:
        typer.echo(f"{len(check)} file(s) valid")
        return
    typer.echo(json.dumps(curated.coverage(loaded), indent=2))


@app.command()
def build(
    links: list[Path] = typer.Option([], "--links", help="A link table of known partnerships (repeatable)."),
    migration: list[Path] = typer.Option([], "--migration", help="UN DESA bilateral migrant stock CSV."),
    train_ranker: bool = typer.Option(True, "--train/--no-train", help="Train the ranker (default) or not."),
    min_population: Optional[int] = typer.Option(
        None, "--min-population", min=500,
        help="Catalogue every place of this many people or more (default 15,000; the gazetteer goes down to 500). "
             "Places a partnership or a profile names are always in."),
) -> None:
    """Build the catalogue, pairs and context into $MATCHER_HOME (atomically: a failure keeps the old build)."""
    from matcher.build import run_build
    from matcher.sources.profiles import ProfileError

    home = paths.matcher_home()
    context = paths.context_dir()
    typer.echo(f"building into {home} (context: {context or 'none'})", err=True)
    size = {"min_population": min_population} if min_population is not None else {}  # else run_build's default
    try:
        run_build(home, links, migration, context, progress=lambda message: typer.echo(message, err=True),
                  train_ranker=train_ranker, **size)
    except (InputError, ProfileError) as exc:
        _fail(f"build failed, previous build kept: {exc}", 2)


def _usable(open_, *args):
    """`open_(*args)`, or the reason the build cannot be used (BuildMissing: what to run) and exit 1."""
    from matcher.store import BuildMissing

    try:
        return open_(*args)
    except BuildMissing as exc:
        _fail(str(exc))


def _open_build():
    from matcher.store import Build

    return _usable(Build.open, paths.matcher_home())


@app.command()
def stats(as_json: bool = typer.Option(False, "--json", help="One JSON object.")) -> None:
    """Counts of the current build: cities, profiles, link rows resolved, pairs."""
    current = _open_build()
    counts, report = current.manifest["counts"], current.link_report
    summary = {
        "cities": counts["cities"], "default_pool": counts["default_pool"], "profiles": counts["profiles"],
        "links": {"rows": report["rows"], "resolved_rows": report["resolved_rows"], "pairs": report["pairs"],
                  "resolved_share": report["resolved_share"], "tables": report["tables"],
                  "namesake_doubles": len(report["namesake_doubles"])},
        "pairs": counts["pairs"], "built_at": current.manifest["built_at"],
    }
    if as_json:
        typer.echo(json.dumps(summary))
        return
    typer.echo(f"cities        {summary['cities']:>9,} ({summary['default_pool']:,} in the default pool)")
    typer.echo(f"profiles      {summary['profiles']:>9,}")
    share = f"{report['resolved_share']:.1%}" if report["resolved_share"] is not None else "n/a"
    typer.echo(f"link rows     {report['rows']:>9,} ({report['resolved_rows']:,} resolved, {share})")
    typer.echo(f"pairs         {counts['pairs']:>9,} ({report['pairs']:,} from link tables, "
               f"{len(report['namesake_doubles'])} dropped as namesake doubles)")


def _describe(city) -> str:
    region = f"{city['admin1']}, " if isinstance(city["admin1"], str) and city["admin1"] else ""
    size = f"population {city['population']:,}" if city["population"] else "population unknown"
    return f"{city['name']} ({region}{city['country']}), {size}"


@app.command()
def city(
    query: str = typer.Argument(..., help="A GeoNames id, 'Name', 'Name, Country' or 'Name, Region, Country'."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Look a city up; namesakes are listed, never silently picked."""
    from matcher.search import CityIndex

    current = _open_build()
    cities = current.cities
    if query.strip().isdigit():
        ids = [int(query)] if int(query) in cities.index else []
        index = None
    else:
        index = CityIndex(cities)
        ids = index.exact(query) or index.search(query, limit=10)
    if not ids:
        close = index.suggest(query) if index else []
        hint = ("; did you mean: " + "; ".join(f"{_describe(cities.loc[i])} [{i}]" for i in close)) if close else ""
        _fail(f"no city matches {query!r}{hint}")
    if len(ids) > 1:
        if as_json:
            from matcher.lookup import CityRecords

            typer.echo(json.dumps({"query": query, "matches": CityRecords(cities).of(ids)}, ensure_ascii=False))
            return
        typer.echo(f"{len(ids)} places match {query!r}; name one by its GeoNames id or add region/country:")
        for gid in ids:
            typer.echo(f"  {gid:>10}  {_describe(cities.loc[gid])}")
        return
    record = _city_json(current, ids[0])
    if as_json:
        typer.echo(json.dumps(record, ensure_ascii=False, default=str))
        return
    for key, value in record.items():
        if value not in (None, [], {}, False):
            typer.echo(f"{key:<16} {value}")


def _city_json(current, gid: int) -> dict:
    from matcher.lookup import CityRecords, partner_ids, plain

    record = CityRecords(current.cities).of([gid])[0]
    row = current.cities.loc[gid]
    partners = partner_ids(current.pairs, gid)
    record.update({
        "subregion": row["subregion"], "timezone": row["timezone"], "climate": row["climate"],
        "capital": bool(row["is_capital"]), "admin_seat": bool(row["is_admin_seat"]),
        "district": bool(row["is_district"]), "harbour_size": int(row["harbour_size"]), "airport": row["airport"],
        "income_group": row["income_group"],
        "partners": [f"{current.cities.at[p, 'name']} ({current.cities.at[p, 'country']}) [{p}]" for p in partners],
    })
    return plain(record)


@app.command()
def train() -> None:
    """Train the ranker on every known partnership of the current build (also run by `matcher build`)."""
    from matcher.engine import train as fit

    current = _open_build()
    ranker = fit(current)
    typer.echo(f"trained on {ranker.training_rows_:,} rows from {ranker.training_queries_:,} query cities")


@app.command()
def evaluate(
    as_json: bool = typer.Option(False, "--json", help="The report as JSON."),
    seeds: int = typer.Option(3, help="How many random splits per protocol."),
    queries: int = typer.Option(500, help="Query cities evaluated per split."),
    card: Optional[Path] = typer.Option(None, "--card", help="Also write the model card here."),
) -> None:
    """Warm and cold hold-out evaluation against baselines; the report is written into the build."""
    import time

    from matcher.engine import RANKER_FILE, city_table
    from matcher.evaluate import markdown_table, model_card, run
    from matcher.rank import PartnerRanker

    started = time.perf_counter()
    current = _open_build()
    table = city_table(current)
    summary = run(table, current.pairs, lambda seed: PartnerRanker(random_state=seed, n_jobs=paths.threads()),
                  list(range(seeds)), queries, progress=lambda message: typer.echo(message, err=True))
    (current.path / "evaluation.json").write_text(json.dumps(summary, indent=2))
    (current.path / "evaluation.md").write_text(markdown_table(summary) + "\n")
    if card is not None:
        trained = PartnerRanker.load(current.path / RANKER_FILE)
        card.write_text(model_card(current.manifest, summary, trained._params(), trained.feature_importance(),
                                   time.perf_counter() - started))
    typer.echo(json.dumps(summary) if as_json else markdown_table(summary))


def _filters(countries, exclude_countries, continents, min_population, max_population, industries, themes,
             languages, intent, diversity):
    from matcher.recommend import Filters

    upper = lambda values: [v.strip().upper() for v in values if v.strip()]  # noqa: E731
    return Filters(countries=upper(countries), exclude_countries=upper(exclude_countries),
                   continents=upper(continents), min_population=min_population, max_population=max_population,
                   industries=list(industries), themes=list(themes), languages=[v.lower() for v in languages],
                   intent=intent, diversity=diversity)


def _result_json(records, suggestion) -> dict:
    city = records.of([suggestion.geonameid])[0]  # not a DataFrame row: .loc cost 1 ms a result, 20 ms a query
    return {"geonameid": suggestion.geonameid, "name": city["name"], "country": city["country"],
            "continent": city["continent"], "population": city["population"], "score": suggestion.score,
            "reasons": suggestion.reasons}


@app.command()
def recommend(
    query: Optional[str] = typer.Argument(None, help="A GeoNames id or a city name ('Portland, Oregon')."),
    k: int = typer.Option(10, "--k", min=1, max=100, help="How many suggestions."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
    batch: Optional[Path] = typer.Option(None, "--batch", help="File of GeoNames ids, one per line: JSON lines out."),
    jobs: int = typer.Option(0, "--jobs", min=0,
                             help="Processes answering a --batch (0: MATCHER_JOBS, default 2)."),
    country: list[str] = typer.Option([], "--country", help="Only these countries (ISO2; repeatable)."),
    exclude_country: list[str] = typer.Option([], "--exclude-country", help="Not these countries (ISO2)."),
    continent: list[str] = typer.Option([], "--continent", help="Only these continents (EU, AS, AF, NA, SA, OC)."),
    min_population: Optional[int] = typer.Option(None, "--min-population", min=0),
    max_population: Optional[int] = typer.Option(None, "--max-population", min=0),
    industry: list[str] = typer.Option([], "--industry", help="Required industry id (repeatable)."),
    theme: list[str] = typer.Option([], "--theme", help="Required theme id (repeatable)."),
    language: list[str] = typer.Option([], "--language", help="A language spoken there (ISO 639-1)."),
    intent: Optional[str] = typer.Option(None, "--intent", help="What you look for, in plain words."),
    diversity: float = typer.Option(0.0, "--diversity", min=0.0, max=1.0,
                                    help="0: no limit per country; 1: one per country."),
) -> None:
    """Suggest partner cities, with reasons."""
    from matcher.engine import Engine
    from matcher.lookup import CityRecords, check_filters
    from matcher.search import CityIndex

    filters = _filters(country, exclude_country, continent, min_population, max_population, industry, theme,
                       language, intent, diversity)
    engine = _usable(Engine.open, _open_build())
    try:
        check_filters(filters, engine.table.countries)
    except InputError as exc:
        _fail(str(exc))
    records = CityRecords(engine.table.cities)
    if batch is not None:
        lines = [line.strip() for line in batch.read_text(encoding="utf-8").splitlines() if line.strip()]
        for answer in _batch_answers((engine, records, k, filters), lines, jobs or paths.threads()):
            typer.echo(answer)
        return
    if query is None:
        _fail("give a city (name or GeoNames id) or --batch FILE")
    if query.strip().isdigit() and int(query) in engine.table.position:
        gid = int(query)
    else:
        matches = CityIndex(engine.table.cities).exact(query)
        if len(matches) != 1:
            _fail(f"{len(matches) or 'no'} cities match {query!r}; run `matcher city {query!r}` and use a GeoNames id")
        gid = matches[0]
    suggestions = engine.recommender.for_city(gid, k, filters)
    if as_json:
        typer.echo(json.dumps({"query": gid, "known_partners": engine.recommender.known_partners(gid),
                               "results": [_result_json(records, s) for s in suggestions]}, ensure_ascii=False))
        return
    typer.echo(f"Suggested partners for {_describe(engine.table.cities.loc[gid])}:")
    for rank, s in enumerate(suggestions, start=1):
        # z: a score of -0.004 reads 0.00, not -0.00
        typer.echo(f"{rank:>3}. {_describe(engine.table.cities.loc[s.geonameid])}  score {s.score:z.2f}")
        for reason in s.reasons:
            typer.echo(f"       - {reason}")


_batch_task: tuple = ()  # (engine, records, k, filters) of the batch being answered: forked workers inherit it


def _batch_answers(task: tuple, lines: list[str], jobs: int) -> Iterator[str]:
    """One JSON line per id, in the file's order. Several jobs are processes forked once the engine is loaded: they
    share its memory (copy-on-write) and each answers whole queries, a few at a time."""
    global _batch_task
    _batch_task = task
    if jobs == 1 or len(lines) < 2 * jobs:
        yield from map(_batch_answer, lines)
        return
    gc.freeze()  # the engine outlives the batch: the workers' full collections would walk it and copy shared pages
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        yield from pool.imap(_batch_answer, lines, chunksize=4)


def _batch_answer(text: str) -> str:
    engine, records, k, filters = _batch_task
    return json.dumps(_batch_line(engine, records, text, k, filters), ensure_ascii=False)


def _batch_line(engine, records, text: str, k: int, filters) -> dict:
    try:
        gid = int(text)
    except ValueError:
        return {"query": text, "error": "not a GeoNames id"}
    if gid not in engine.table.position:
        return {"query": gid, "error": "unknown GeoNames id: not in the catalogue"}
    suggestions = engine.recommender.for_city(gid, k, filters)
    return {"query": gid, "known_partners": engine.recommender.known_partners(gid),
            "results": [_result_json(records, s) for s in suggestions]}


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Processes; from 2 on, forked once the engine is loaded, sharing it."),
) -> None:
    """Serve the API and the planner's page on the current build (settings: see README, 'Web service')."""
    import copy
    import importlib

    import uvicorn

    from matcher.engine import load_ranker

    # No build, or a ranker of another version: say what to run before starting a server that could never be ready.
    _usable(load_ranker, _open_build())
    # The app logs one JSON line per request (without query strings) on the "api" logger; uvicorn's own access
    # log, which has them, is off.
    logging = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    logging["formatters"]["line"] = {"format": "%(message)s"}
    logging["handlers"]["api"] = {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stderr"}
    logging["loggers"]["api"] = {"handlers": ["api"], "level": "INFO", "propagate": False}
    # Imported by name, not at the top: the library never depends on the web service. One worker answers /healthz
    # while it loads; several are forked from a process that loaded the engine first.
    if workers > 1:
        importlib.import_module("api.workers").serve(host, port, workers, logging)
        return
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, access_log=False, log_config=logging)


def main() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except InputError as exc:
        _fail(str(exc), 2)
