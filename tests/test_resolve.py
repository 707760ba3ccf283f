"""Hand-checked resolutions: the resolver's hard cases."""

import pytest

from matcher.resolve import LOCAL_ID_BASE, local_place_id, parse_name

PORTLAND_OR, PORTLAND_ME = 5746545, 4975802
FRANKFURT_MAIN, FRANKFURT_ODER = 2925533, 2925535


@pytest.mark.parametrize("name, country, lat, lon, expected", [
    ("Portland", "United States", 45.52, -122.68, PORTLAND_OR),
    ("Portland", "United States", 43.66, -70.26, PORTLAND_ME),
    ("Portland, Oregon", "US", None, None, PORTLAND_OR),
    ("Portland, Maine", "US", None, None, PORTLAND_ME),
    ("Frankfurt", "Germany", 50.11, 8.68, FRANKFURT_MAIN),
    ("Frankfurt am Main", "Germany", None, None, FRANKFURT_MAIN),
    ("Frankfurt (Oder)", "Germany", 52.34, 14.55, FRANKFURT_ODER),
    ("Frankfurt an der Oder", "Germany", 52.34, 14.55, FRANKFURT_ODER),
    ("Москва", "Russia", None, None, 524901),            # Cyrillic
    ("Moscow", "Russia", 55.75, 37.62, 524901),
    ("München", "Germany", None, None, 2867714),          # accented, native name
    ("Munich", "Germany", 48.14, 11.58, 2867714),
    ("Kraków", "Poland", 50.06, 19.94, 3094802),
    ("Krakow", "Poland", None, None, 3094802),
    ("Malmo", "Sweden", 55.6, 13.0, 2692969),
    ("São Paulo", "Brazil", -23.55, -46.63, 3448439),
    ("Berlin – Mitte", "Germany", 52.52, 13.40, 6545310),  # a district named after its city
    ("Kolbuszowa", "Portugal", 50.24, 21.78, 768805),     # wrong country string, coordinates right
])
def test_hand_checked(resolver, name, country, lat, lon, expected):
    assert resolver.resolve(name, country, lat, lon).geonameid == expected


def test_a_region_in_the_name_decides_and_is_recorded(resolver):
    found = resolver.resolve("Portland, Maine", "US", None, None)
    assert found.geonameid == PORTLAND_ME and found.method == "hint"
    assert resolver.resolve("Kolbuszowa", "Poland", None, None).method == "unique"


def test_english_named_district(resolver, places):
    found = resolver.resolve("Tokyo – Shibuya", "Japan", 35.66, 139.70)
    assert places.loc[found.geonameid, "name"] == "Shibuya"


def test_district_falls_back_to_its_city(resolver):
    found = resolver.resolve("Samuel (Soure)", "Portugal", 40.06, -8.63)
    assert found.geonameid == 2733851 and found.method == "parent"


@pytest.mark.parametrize("name, country, lat, lon, city", [
    ("Perovo (Moscow)", "Russia", 55.7511, 37.7866, 524901),        # not the Perovo 3,500 km east
    ("Tokyo – Shinagawa", "Japan", 35.6, 139.7333, 1850147),        # not the Shinagawa in Ehime
    ("Zhongshan (Dalian)", "China", 38.9213, 121.6376, 1814087),    # not Zhongshan in Guangdong
])
def test_a_district_matched_far_from_its_town_falls_back_to_the_town(resolver, name, country, lat, lon, city):
    found = resolver.resolve(name, country, lat, lon)
    assert found.geonameid == city and found.method == "parent"


def test_a_district_stays_where_its_town_is_no_nearer(resolver, places):
    # The table gives Listowel (Ontario) the coordinates of Listowel (Ireland): its town is no help there.
    found = resolver.resolve("Listowel (North Perth)", "Canada", 52.447, -9.486)
    assert places.loc[found.geonameid, ["name", "country"]].tolist() == ["Listowel", "CA"]


@pytest.mark.parametrize("name, country", [("Osaka Prefecture", "Japan"), ("Maui County", "United States"),
                                           ("County Cork", "Ireland")])
def test_administrative_areas_are_not_cities(resolver, name, country):
    assert resolver.resolve(name, country, 34.7, 135.5).reason == "not a city"


def test_ambiguous_without_coordinates(resolver):
    found = resolver.resolve("Springfield", "United States")
    assert found.geonameid is None and found.reason == "ambiguous"


def test_unknown_country(resolver):
    assert resolver.resolve("Paris", "Atlantis").reason == "unknown country"


def test_village_missing_from_gazetteer_becomes_a_local_place(resolver):
    found = resolver.resolve("Llangedwyn", "Wales", 52.80, -3.23)
    assert found.method == "new-place"
    assert found.geonameid == local_place_id("GB", "Llangedwyn") >= LOCAL_ID_BASE


def test_parse_name_forms():
    assert parse_name("Berlin – Mitte").parent == "Berlin"
    assert parse_name("Budapest XI – Újbuda").parent == "Budapest"
    assert parse_name("Suzhou, Jiangsu").hint == "Jiangsu"
    assert parse_name("Osaka Prefecture").area
