"""The name index: its fast paths give what the plain ones would."""

from difflib import get_close_matches

import pytest

from matcher.search import CityIndex
from matcher.text import fold, name_keys

pytestmark = pytest.mark.slow  # the curated build


@pytest.fixture(scope="module")
def index(engine):
    return CityIndex(engine.table.cities)


@pytest.mark.parametrize("typo", ["Portlnd", "Sprngfeld"])
def test_close_spellings_are_difflib_s_over_every_key(index, typo):
    close = get_close_matches(fold(typo), index.keys, n=5, cutoff=0.75)
    expected = {int(index.ids[row]) for key in close for row in index.rows[slice(*index._exact(key))]}
    assert close and set(index.suggest(typo)) <= expected and len(index.suggest(typo)) == min(5, len(expected))


def test_a_short_prefix_ranks_every_city_it_starts_by_size(engine, index):
    cities = engine.table.cities
    named = cities[[any(key.startswith("sa") for key in name_keys(name)) for name in cities["name"]]]
    assert index.search("Sa", limit=3) == named.sort_values("population", ascending=False).index[:3].tolist()
