import pytest

from matcher.sources.countries import country_code, country_table, region_hint


@pytest.mark.parametrize("text, iso2", [
    ("England", "GB"), ("England, United Kingdom", "GB"), ("Scotland", "GB"), ("Georgia (country)", "GE"),
    ("Kazakhstah", "KZ"), ("Grece", "GR"), ("Algarve, Portugal", "PT"), ("in Italy", "IT"), ("Moldavia", "MD"),
    ("Bosnia and Hercegovina", "BA"), ("Kosovo", "XK"), ("Namibia", "NA"), ("Niger", "NE"), ("Nigeria", "NG"),
    ("South Korea", "KR"), ("Czech Republic", "CZ"), ("US", "US"),
])
def test_messy_country_strings(text, iso2):
    assert country_code(text) == iso2


def test_unknown_country_is_none():
    assert country_code("Atlantis") is None
    assert country_code("") is None


def test_region_hint():
    assert region_hint("Algarve, Portugal") == "Algarve"
    assert region_hint("England, United Kingdom") is None


def test_country_table_has_context():
    table = country_table({"DEU": "High income"})
    germany = table.loc["DE"]
    assert germany["continent"] == "EU"
    assert germany["subregion"] == "Western Europe"
    assert germany["income_group"] == "High income"
    assert "de" in germany["official_languages"]
    assert germany["language_shares"]["de"] > 0.9
    assert {"FR", "PL", "AT"} <= set(germany["neighbours"])
    assert table.loc["CH", "language_shares"]["fr"] > 0.2
