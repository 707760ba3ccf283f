import pytest

from conftest import write_links
from matcher.errors import InputError
from matcher.sources.links import import_links, namesake_doubles, read_link_table

GOOD = [
    "Portland,United States,45.52,-122.68,Sapporo,Japan,43.06,141.35",
    "Sapporo,Japan,43.06,141.35,Portland,\"Oregon, United States\",45.52,-122.68",   # reversed duplicate
    "Coventry,\"England, United Kingdom\",52.41,-1.51,Dresden,Germany,51.05,13.74",
    "Dresden,Germany,51.05,13.74,Dresden,Germany,51.05,13.74",                      # self-pair
    "Osaka Prefecture,Japan,34.69,135.52,Melbourne,Australia,-37.81,144.96",        # not a city
    "Paris,Atlantis,0,0,Rome,Italy,41.9,12.5",                                       # unknown country
]


def test_import_merges_duplicates_and_reports_rejections(tmp_path, resolver):
    table = read_link_table(write_links(tmp_path / "links.csv", GOOD))
    result = import_links({"links.csv": table}, resolver)
    report = result.report()
    assert report["rows"] == 6 and report["resolved_rows"] == 3 and report["pairs"] == 2
    pairs = {(a, b) for a, b in zip(result.pairs["a"], result.pairs["b"])}
    assert (2128295, 5746545) in pairs  # Sapporo - Portland, undirected, stored once
    assert set(result.rejections["reason"]) == {"self-pair", "not a city", "unknown country"}
    assert list(result.rejections["line"]) == [5, 6, 7]


def test_pairs_remember_every_source(tmp_path, resolver):
    first = read_link_table(write_links(tmp_path / "a.csv", GOOD[:1]))
    second = read_link_table(write_links(tmp_path / "b.csv", GOOD[1:3]))
    result = import_links({"a.csv": first, "b.csv": second}, resolver)
    sources = dict(zip(zip(result.pairs["a"], result.pairs["b"]), result.pairs["sources"]))
    assert sources[(2128295, 5746545)] == ["a.csv", "b.csv"]
    assert [t["rows"] for t in result.report()["tables"]] == [1, 2]


NAMESAKES = [
    # A bare 'Kusatsu' the table places in Shiga, and Kusatsu (Gunma)'s page naming the same partnership.
    "Bietigheim-Bissingen,Germany,48.9494,9.1361,Kusatsu,Japan,35.0132,135.9599",
    "\"Kusatsu, Gunma\",Japan,36.6207,138.5961,Bietigheim-Bissingen,Germany,48.9494,9.1361",
    # Two namesakes, each named with its state or river: two partnerships.
    "Salisbury,England,51.0697,-1.795,\"Salisbury, Maryland\",United States,38.3658,-75.6003",
    "Salisbury,England,51.0697,-1.795,\"Salisbury, North Carolina\",United States,35.6656,-80.4908",
    "Odolanów,Poland,51.5667,17.6667,Heringen/Helme,Germany,51.4472,10.8808",
    "Odolanów,Poland,51.5667,17.6667,Heringen (Werra),Germany,50.8872,10.0056",
    # Two namesakes, both named bare: nothing tells which is meant, both stay.
    "Guanajuato,Mexico,21.0167,-101.2667,Ashland,United States,40.7887,-82.236",
    "Guanajuato,Mexico,21.0167,-101.2667,Ashland,United States,42.1946,-122.7095",
]


def test_a_partner_named_bare_yields_to_its_namesake_named_precisely(tmp_path, resolver, places):
    result = import_links({"links.csv": read_link_table(write_links(tmp_path / "links.csv", NAMESAKES))}, resolver)
    pairs = list(zip(result.pairs["a"], result.pairs["b"]))
    assert len(pairs) == 8 and (1858066, 2949012) in pairs  # Bietigheim-Bissingen with both Kusatsus, as read
    doubles = namesake_doubles(result.pairs, result.precise, places)
    assert [pair for pair, double in zip(pairs, doubles) if double] == [(1858067, 2949012)]  # only Shiga's goes


@pytest.mark.parametrize("content, message", [
    ("", "empty file"),
    ("city1,country1,lat1,lng1,city2,country2,lat2\nA,B,1,2,C,D,3\n", "line 1: missing column(s) lng2"),
    ("city1,country1,lat1,lng1,city2,country2,lat2,lng2\nA,France,95,2,B,Italy,3,4\n", "line 2: lat1 95.0 is out of range"),
    ("city1,country1,lat1,lng1,city2,country2,lat2,lng2\nA,France,1,2,B,Italy,3,4\nC,Spain,x,2,D,Italy,3,4\n",
     "line 3: lat1 is not a number"),
    ("city1,country1,lat1,lng1,city2,country2,lat2,lng2\nA,France,1,2,B,Italy,3\n", "line 2: 7 fields"),
])
def test_malformed_tables_name_file_line_and_problem(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_link_table(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_wrong_encoding_is_reported_with_its_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("city1,country1,lat1,lng1,city2,country2,lat2,lng2\nA,France,1,2,B,Italy,3,4\n"
                     "Malmö,Sweden,55.6,13.0,Kiel,Germany,54.3,10.1\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"line 3: not UTF-8"):
        read_link_table(path)
