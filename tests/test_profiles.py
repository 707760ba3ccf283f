"""Curated profiles: the schema's errors, the vocabularies, and the committed data itself."""

import json

from conftest import LINKS_CSV, needs_shared

import pytest
import yaml

from matcher.sources.profiles import (ProfileError, dump_profiles, fill_ids, load_profiles, profile_record,
                                      vocabulary)

DESCRIPTION = ("A test city on a river with a historic university, a busy inland port and a long tradition of "
               "engineering firms, trade fairs and music festivals that draw visitors from across the region "
               "every summer and autumn.")


def city(**fields):
    entry = {"name": "Dresden", "country": "DE", "geonameid": 2935022, "industries": ["electronics", "research"],
             "diaspora": [{"country": "VN", "size": "medium"}], "themes": ["wartime_destruction"],
             "description": DESCRIPTION, "partners": [{"geonameid": 2652221, "name": "Coventry", "year": 1959}]}
    entry.update(fields)
    return entry


def write(folder, country, entries):
    (folder / f"{country}.yaml").write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")


def errors_for(tmp_path, places, entries, country="DE"):
    write(tmp_path, country, entries)
    with pytest.raises(ProfileError) as error:
        load_profiles(places, folder=tmp_path)
    return str(error.value)


def test_valid_file_loads(tmp_path, places):
    write(tmp_path, "DE", [city()])
    [profile] = load_profiles(places, folder=tmp_path)
    record = profile_record(profile)
    assert record["geonameid"] == 2935022 and record["partners"][0]["geonameid"] == 2652221
    json.dumps(record)


@pytest.mark.parametrize("fields, expected", [
    ({"industries": ["electronics", "space_lasers"]}, "DE.yaml: Dresden: industries: Value error, unknown industries id(s) ['space_lasers']; valid ids: aerospace"),
    ({"themes": ["hanseatic", "nope"]}, "DE.yaml: Dresden: themes: Value error, unknown themes id(s) ['nope']"),
    ({"description": "Too short."}, "DE.yaml: Dresden: description: Value error, description has 2 words, expected 30-80"),
    ({"industries": ["electronics"]}, "DE.yaml: Dresden: industries: List should have at least 2 items"),
    ({"diaspora": [{"country": "QQ"}]}, "DE.yaml: Dresden: diaspora.0.country"),
    ({"diaspora": [{"country": "DE"}]}, "DE.yaml: Dresden: diaspora: lists its own country DE"),
    ({"partners": [{"geonameid": 999999999}]}, "DE.yaml: Dresden: partners.0: 999999999 is neither in the gazetteer nor curated"),
    ({"partners": [{"geonameid": 2652221, "name": "Bristol"}]}, "DE.yaml: Dresden: partners.0: 2652221 is Coventry, not Bristol"),
    ({"geonameid": 2950159}, "DE.yaml: Dresden: geonameid: 2950159 is Berlin, not Dresden"),
    ({"geonameid": 2643743}, "DE.yaml: Dresden: geonameid: 2643743 is London in GB"),
    ({"colour": "green"}, "DE.yaml: Dresden: colour: Extra inputs are not permitted"),
])
def test_errors_name_file_city_and_field(tmp_path, places, fields, expected):
    assert expected in errors_for(tmp_path, places, [city(**fields)])


def test_duplicate_city_across_files(tmp_path, places):
    write(tmp_path, "GB", [city(country="GB", name="Coventry", geonameid=2652221, partners=[])])
    message = errors_for(tmp_path, places, [city(), city()])
    assert "DE.yaml: Dresden: geonameid: 2935022 is curated more than once" in message


def test_file_must_match_country(tmp_path, places):
    assert "DE.yaml: Dresden: country: FR in the file for DE" in errors_for(
        tmp_path, places, [city(country="FR", geonameid=None, latitude=1, longitude=1, population=10)])


def test_place_missing_from_gazetteer_needs_coordinates(tmp_path, places):
    message = errors_for(tmp_path, places, [city(name="Dull", country="GB", geonameid=None, partners=[])], "GB")
    assert "GB.yaml: Dull: entry: Value error, a place without a geonameid needs latitude, longitude and population" in message
    write(tmp_path, "GB", [city(name="Dull", country="GB", geonameid=None, latitude=56.63, longitude=-3.95,
                                population=80, partners=[])])
    [dull] = load_profiles(places, folder=tmp_path)
    assert dull.id >= 2_000_000_000


def test_fill_finds_ids_and_keeps_the_file_readable(tmp_path, places, resolver):
    path = tmp_path / "US.yaml"
    write(tmp_path, "US", [city(name="Portland", country="US", geonameid=None, admin1="Oregon", partners=[
        {"name": "Sapporo", "country": "JP", "year": 1959}, {"name": "Portland", "country": "US", "admin1": "Maine"}])])
    log = fill_ids(path, resolver, places)
    entry = yaml.safe_load(path.read_text())[0]
    assert entry["geonameid"] == 5746545
    assert [p["geonameid"] for p in entry["partners"]] == [2128295, 4975802]
    assert any("CHECK namesakes" in line for line in log)
    assert "industries: [electronics, research]" in path.read_text()


def test_vocabularies_are_small_and_defined():
    industries, themes = vocabulary("industries"), vocabulary("themes")
    assert 40 <= len(industries) <= 70 and 40 <= len(themes) <= 80
    for term in [*industries.values(), *themes.values()]:
        assert term.label and len(term.definition.split()) >= 4


def test_committed_profiles_are_valid(places):
    profiles = load_profiles(places)  # raises with every problem listed
    assert len({p.id for p in profiles}) == len(profiles)


def test_dump_is_stable():
    entries = [city()]
    assert yaml.safe_load(dump_profiles(entries)) == yaml.safe_load(dump_profiles(yaml.safe_load(dump_profiles(entries))))


def test_curated_knowledge_base_coverage(places):
    """The knowledge base issue's figures: >= 1,000 profiles, >= 90% of them rich."""
    from matcher.sources.profiles import coverage
    figures = coverage(load_profiles(places))
    assert figures["profiles"] >= 1000
    assert figures["rich_share"] >= 0.90


@needs_shared
def test_curated_partners_are_confirmed_by_the_reference(places, resolver):
    from matcher.sources.links import import_links, read_link_table
    from matcher.sources.profiles import confirm_partners
    imported = import_links({"wikipedia": read_link_table(LINKS_CSV)}, resolver)
    report = confirm_partners(load_profiles(places), set(zip(imported.pairs["a"], imported.pairs["b"])))
    print({k: v for k, v in report.items() if k != "unconfirmed"})
    assert report["checkable_pairs"] >= 1500
    assert report["confirmed_share"] >= 0.70
