"""The full build on ../shared/data: the foundation's acceptance figures."""

import json

import pytest
from typer.testing import CliRunner

from conftest import needs_shared
from matcher.cli import app

pytestmark = [needs_shared, pytest.mark.slow]


@pytest.fixture(scope="module")
def reference(reference_build):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MATCHER_HOME", str(reference_build.path.parent.parent))
        stats = json.loads(CliRunner().invoke(app, ["stats", "--json"]).stdout)
    return reference_build, stats


def test_acceptance_figures(reference):
    _, stats = reference
    assert stats["cities"] >= 30_000
    assert stats["links"]["rows"] == 22_192
    assert stats["links"]["resolved_rows"] / stats["links"]["rows"] >= 0.92


def test_every_rejection_has_a_known_reason(reference):
    build, _ = reference
    report = build.link_report["tables"][0]
    assert set(report["rejected"]) <= {"unknown country", "no such place", "ambiguous", "not a city", "self-pair"}
    assert report["rejected"].get("self-pair", 0) >= 3


def test_context_is_joined(reference):
    build, _ = reference
    cities = build.cities
    assert cities["is_capital"].sum() > 190
    rotterdam, shanghai = cities.loc[2747891], cities.loc[1796236]
    assert rotterdam["harbour_size"] == 4
    assert cities["port_container"].sum() > 100  # the index marks most facilities 'Unknown'; some say 'Yes'
    assert shanghai["pop_1990"] < shanghai["pop_2020"]
    assert cities.loc[2988507, "airport"] == "major"  # Paris
    assert cities.loc[2988507, "income_group"] == "High income"
    assert cities.loc[2643743, "climate"] == "Cfb"     # London
    districts = cities[cities["is_district"]]
    assert len(districts) > 1000
    assert not districts[districts["partner_count"] == 0]["in_default_pool"].any()
    # Places of 15,000 or more that GeoNames' dump no longer lists: near a larger listed place a district, elsewhere a
    # city. A smaller place is missing from the dump for its size alone: Beit Sahour stays a town beside Bethlehem.
    # A place in another admin-1 region or country than the larger one is a city of its own.
    unlisted_districts = {3046446: "Pest", 3054667: "Buda", 2988623: "Paris 05", 8435739: "Kristiine",
                          794965: "Mustamäe"}
    still_cities = {128476: "Kashan", 2747720: "Schagen", 284304: "Beit Sahour", 3054643: "Budapest",
                    3432135: "Lanús", 7535637: "Avellaneda", 1699076: "Muntinlupa", 2038185: "Changbai"}
    assert cities.loc[list(unlisted_districts), "is_district"].all()
    assert not cities.loc[list(still_cities), "is_district"].any()


def test_diaspora_is_known_for_any_two_countries(reference):
    build, _ = reference
    stocks = build.migration
    polish_in_us = stocks[(stocks["origin"] == "PL") & (stocks["destination"] == "US") & (stocks["year"] == 2020)]
    assert int(polish_in_us["stock"].iloc[0]) > 300_000


def test_pairs_are_undirected_and_unique(reference):
    build, _ = reference
    pairs = build.pairs
    assert (pairs["a"] < pairs["b"]).all()
    assert not pairs.duplicated(["a", "b"]).any()
