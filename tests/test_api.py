"""The web service on the reference build, through FastAPI's TestClient: every endpoint, its errors, its guards."""

import json
import logging
import threading

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.deps import Service
from api.main import STATIC, create_app
from api.settings import Settings
from conftest import needs_shared
from matcher.cli import app as cli
from matcher.features import FEATURES

pytestmark = [needs_shared, pytest.mark.slow]

PORTLAND, PORTLAND_ME, SAPPORO, PARIS, LONDON, ZURICH = 5746545, 4975802, 2128295, 2988507, 2643743, 2657896
BRIEF = {"geonameid", "name", "admin1", "country", "continent", "population", "latitude", "longitude"}


@pytest.fixture(scope="module")
def service(reference_engine):
    return Service.of(reference_engine)


def client_for(service, **settings) -> TestClient:
    return TestClient(create_app(Settings(**settings), service))


@pytest.fixture(scope="module")
def client(service):
    return client_for(service)


def call(client, path, status=200, **params):
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    return response.json()


def recommend(client, status=200, **params):
    return call(client, f"/v1/cities/{PORTLAND}/recommendations", status, **params)


def post(client, body, status=200):
    response = client.post("/v1/recommendations", json=body)
    assert response.status_code == status, response.text
    return response.json()


def made_up(**changes) -> dict:
    profile = {"name": "Havenstad", "country": "NL", "latitude": 52.9, "longitude": 4.8, "population": 85_000,
               "industries": ["port_logistics", "fishing"], "themes": ["port_city"], "diaspora": ["TR", "MA"],
               "description": "A North Sea harbour town with a fishing fleet, ferries and a maritime museum.",
               "partners": []}
    return {**profile, **changes}


# -- health and meta ------------------------------------------------------------------------------------
def test_health_and_readiness(client):
    assert call(client, "/healthz") == {"status": "ok"}
    assert call(client, "/readyz") == {"status": "ready"}


def test_ready_only_once_loaded_in_the_background(service, monkeypatch):
    loaded = threading.Event()
    monkeypatch.setattr(Service, "open", classmethod(lambda cls, settings: loaded.wait(30) and service))
    with TestClient(create_app(Settings())) as client:
        assert call(client, "/healthz") == {"status": "ok"}
        assert "loading" in call(client, "/readyz", 503)["message"]
        assert "loading" in call(client, "/v1/meta", 503)["message"]
        loaded.set()
        for _ in range(100):
            if client.get("/readyz").status_code == 200:
                break
            threading.Event().wait(0.05)
        assert call(client, "/v1/meta")["data"]["counts"]["cities"] > 30_000


def test_a_missing_build_is_reported_by_readyz(tmp_path):
    with TestClient(create_app(Settings(matcher_home=tmp_path))) as client:
        for _ in range(100):
            body = client.get("/readyz").json()
            if "matcher build" in body["message"]:
                break
            threading.Event().wait(0.05)
        assert "run `matcher build`" in body["message"]


def test_meta_gives_versions_build_date_and_vocabularies(client):
    meta = call(client, "/v1/meta")
    assert meta["matcher_version"] and meta["built_at"].endswith("Z")
    assert [f["name"] for f in meta["data"]["links"]] == ["twin_cities_wikipedia.csv"]
    assert len(meta["data"]["links"][0]["sha256"]) == 64 and meta["data"]["counts"]["pairs"] > 15_000
    assert meta["model"]["training_rows"] > 0 and set(meta["model"]["feature_importance"]) == set(FEATURES)
    assert meta["evaluation"] is None  # no `matcher evaluate` on this build
    assert meta["vocabularies"]["industries"]["port_logistics"]
    assert "/" not in json.dumps(meta["data"]["links"])  # no server paths


# -- cities ---------------------------------------------------------------------------------------------
def test_search_tells_namesakes_apart(client):
    results = call(client, "/v1/cities", q="Portland")["results"]
    assert set(results[0]) == BRIEF
    by_id = {r["geonameid"]: r for r in results}
    assert by_id[PORTLAND]["admin1"] == "Oregon" and by_id[PORTLAND_ME]["admin1"] == "Maine"
    assert results[0]["geonameid"] == PORTLAND  # the larger first
    assert call(client, "/v1/cities", q="Portland, Maine")["results"][0]["geonameid"] == PORTLAND_ME


@pytest.mark.parametrize("q", ["zurich", "ZÜRICH", "Zür", "Zurigo"])
def test_search_by_alternate_name_prefix_and_without_accents(client, q):
    assert ZURICH in [r["geonameid"] for r in call(client, "/v1/cities", q=q)["results"]]


def test_search_within_a_country(client):
    results = call(client, "/v1/cities", q="Portland", country="gb", limit=3)["results"]
    assert results and len(results) <= 3 and {r["country"] for r in results} == {"GB"}
    assert "unknown country" in call(client, "/v1/cities", 422, q="Portland", country="Atlantis")["message"]


def test_search_without_hits_suggests_close_spellings(client):
    body = call(client, "/v1/cities", q="Portlnd")
    assert body["results"] == [] and PORTLAND in [s["geonameid"] for s in body["suggestions"]]


def test_full_profile(client):
    city = call(client, f"/v1/cities/{PORTLAND}")
    assert city["admin1"] == "Oregon" and city["timezone"] == "America/Los_Angeles" and city["harbour_size"] > 0
    assert "port_logistics" in city["curated"]["industries"] and city["curated"]["description"]
    assert SAPPORO in city["known_partners"]
    assert call(client, f"/v1/cities/{PORTLAND_ME}")["admin1"] == "Maine"


def test_partners_with_their_sources(client):
    body = call(client, f"/v1/cities/{PORTLAND}/partners")
    assert body["city"]["geonameid"] == PORTLAND
    sources = {p["geonameid"]: p["sources"] for p in body["partners"]}
    assert set(sources) == set(call(client, f"/v1/cities/{PORTLAND}")["known_partners"])
    assert set(sources[SAPPORO]) == {"twin_cities_wikipedia.csv", "curated"}
    assert all(set(s) <= {"twin_cities_wikipedia.csv", "curated"} and s for s in sources.values())


@pytest.mark.parametrize("path", ["/v1/cities/{}", "/v1/cities/{}/partners", "/v1/cities/{}/recommendations"])
def test_an_unknown_id_is_a_404(client, path):
    body = call(client, path.format(999999999), 404)
    assert "999999999" in body["message"] and body["matches"] == []


def test_a_name_for_an_id_gets_close_matches(client):
    body = call(client, "/v1/cities/Portlnd", 404)
    assert "not a GeoNames id" in body["message"]
    assert {PORTLAND, PORTLAND_ME} <= {m["geonameid"] for m in body["matches"]}


# -- recommendations ------------------------------------------------------------------------------------
def test_recommendations_for_a_city(client):
    body = recommend(client, k=50)
    assert body["query"]["geonameid"] == PORTLAND and body["query"]["k"] == 50
    assert SAPPORO in body["known_partners"]
    results = body["results"]
    assert len(results) == 50 and set(results[0]) == BRIEF | {"score", "reasons", "contributions"}
    assert not {r["geonameid"] for r in results} & (set(body["known_partners"]) | {PORTLAND})
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert all(r["reasons"] for r in results) and set(results[0]["contributions"]) == set(FEATURES)


@pytest.mark.parametrize("params, check", [
    ({"countries": "fr,it"}, lambda r: r["country"] in {"FR", "IT"}),
    ({"exclude_countries": "US,CA,MX"}, lambda r: r["country"] not in {"US", "CA", "MX"}),
    ({"continents": "AS"}, lambda r: r["continent"] == "AS"),
    ({"min_population": 200_000, "max_population": 900_000}, lambda r: 200_000 <= r["population"] <= 900_000),
])
def test_filters(client, params, check):
    results = recommend(client, k=20, **params)["results"]
    assert len(results) == 20 and all(map(check, results))


def test_industry_and_theme_filters_keep_curated_cities_that_have_them(client, service):
    results = recommend(client, industries="port_logistics", themes="port_city")["results"]
    assert results
    for r in results:
        profile = service.engine.table.profiles[r["geonameid"]]
        assert "port_logistics" in profile["industries"] and "port_city" in profile["themes"]


def test_intent_and_diversity(client):
    plain = [r["geonameid"] for r in recommend(client, k=20)["results"]]
    intent = [r["geonameid"] for r in recommend(client, k=20, intent="wine growing and vineyards")["results"]]
    assert intent != plain
    diverse = recommend(client, k=10, diversity=1)["results"]
    assert len({r["country"] for r in diverse}) == 10


@pytest.mark.parametrize("params, field", [({"k": 0}, "k"), ({"k": 101}, "k"), ({"diversity": 2}, "diversity"),
                                           ({"min_population": -1}, "min_population")])
def test_invalid_parameters_are_a_422_naming_them(client, params, field):
    body = recommend(client, 422, **params)
    assert [p["field"] for p in body["problems"]] == [field] and field in body["message"]


@pytest.mark.parametrize("params, message", [
    ({"industries": "port_logistics,space_elevators"}, "unknown industries ['space_elevators']; valid: aerospace"),
    ({"themes": "nope"}, "unknown themes ['nope']; valid:"),
    ({"countries": "FR,XQ"}, "unknown countries ['XQ']"),
    ({"continents": "Atlantis"}, "unknown continents ['ATLANTIS']; valid: AF, AN, AS, EU, NA, OC, SA"),
    ({"languages": "klingon"}, "unknown languages ['klingon']"),
    ({"min_population": 10, "max_population": 5}, "min_population is larger than max_population"),
])
def test_unknown_filter_values_are_a_422_with_the_valid_ones(client, params, message):
    assert message in recommend(client, 422, **params)["message"]


def test_a_described_city_gets_suggestions(client):
    body = post(client, {"profile": made_up(partners=[PARIS]), "k": 5, "countries": ["FR", "DE"]})
    assert body["query"]["geonameid"] is None and body["query"]["name"] == "Havenstad"
    assert body["query"]["filters"]["countries"] == ["FR", "DE"] and body["known_partners"] == [PARIS]
    results = body["results"]
    assert len(results) == 5 and all(r["country"] in {"FR", "DE"} and r["reasons"] for r in results)
    assert PARIS not in {r["geonameid"] for r in results}


@pytest.mark.parametrize("changes, field", [
    ({"latitude": 200}, "profile.latitude"), ({"longitude": -181}, "profile.longitude"),
    ({"population": -5}, "profile.population"), ({"country": "Netherlands"}, "profile.country"),
    ({"name": ""}, "profile.name"), ({"mayor": "nobody"}, "profile.mayor"),
])
def test_impossible_profile_values_are_a_422(client, changes, field):
    body = post(client, {"profile": made_up(**changes)}, 422)
    assert field in [p["field"] for p in body["problems"]]


@pytest.mark.parametrize("changes, message", [
    ({"industries": ["fishing", "space_elevators"]}, "unknown industries ['space_elevators']; valid: aerospace"),
    ({"country": "QQ"}, "unknown country 'QQ'"),
    ({"partners": [999999999]}, "partners not in the catalogue: [999999999]"),
])
def test_profile_values_the_catalogue_does_not_know_are_a_422(client, changes, message):
    assert message in post(client, {"profile": made_up(**changes)}, 422)["message"]


@pytest.mark.parametrize("body, field", [({"k": 5}, "profile"), ({"profile": made_up(), "k": 500}, "k"),
                                         ({"profile": made_up(), "contries": ["FR"]}, "contries")])
def test_malformed_requests_are_a_422(client, body, field):
    assert field in [p["field"] for p in post(client, body, 422)["problems"]]


def test_malformed_json_is_a_422(client):
    response = client.post("/v1/recommendations", content=b'{"profile": ', headers={"content-type": "application/json"})
    assert response.status_code == 422 and "malformed JSON" in response.json()["message"]


# -- compare --------------------------------------------------------------------------------------------
def test_compare_side_by_side(client):
    body = call(client, "/v1/compare", city=PORTLAND, candidates=f"{SAPPORO},{PARIS}")
    assert body["city"]["geonameid"] == PORTLAND
    sapporo, paris = body["candidates"]
    assert [sapporo["geonameid"], paris["geonameid"]] == [SAPPORO, PARIS]
    assert sapporo["facts"]["known_partner"] and not paris["facts"]["known_partner"]
    assert paris["facts"]["distance_km"] > 7000 and paris["population"] > 1_000_000
    assert all(c["reasons"] and isinstance(c["score"], float) for c in body["candidates"])


@pytest.mark.parametrize("params, status, message", [
    ({"city": PORTLAND, "candidates": f"{PARIS},999999999"}, 404, "999999999"),
    ({"city": PORTLAND, "candidates": f"{PORTLAND},{PARIS}"}, 422, "among its own candidates"),
    ({"city": PORTLAND, "candidates": ","}, 422, "give 1 to 10 candidates"),
    ({"city": "Portlnd", "candidates": str(PARIS)}, 404, "not a GeoNames id"),
])
def test_compare_refuses_what_it_cannot_compare(client, params, status, message):
    assert message in call(client, "/v1/compare", status, **params)["message"]


def test_compare_takes_at_most_ten(client, service):
    eleven = service.engine.recommender.for_city(PORTLAND, 11)
    body = call(client, "/v1/compare", 422, city=PORTLAND, candidates=",".join(str(s.geonameid) for s in eleven))
    assert "give 1 to 10 candidates" in body["message"]


# -- guards ---------------------------------------------------------------------------------------------
def test_unexpected_errors_are_a_json_500_without_traceback(client, service, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service.engine.recommender, "for_city", broken)
    response = client.get(f"/v1/cities/{PORTLAND}/recommendations")
    assert response.status_code == 500 and "internal error" in response.json()["message"]
    assert "Traceback" not in response.text and "secret internals" not in response.text
    assert any(r.exc_info and "secret internals" in str(r.exc_info[1]) for r in caplog.records)


def test_read_only(client):
    assert client.delete(f"/v1/cities/{PORTLAND}").status_code == 405
    assert client.put("/v1/recommendations", json={}).status_code == 405


def test_api_keys_when_configured(service, caplog):
    client = client_for(service, api_keys=["s3cret-key", "other"])
    assert client.get("/v1/meta").status_code == 401
    assert client.get("/v1/meta", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/v1/meta", headers={"X-API-Key": "s3cret-key"}).status_code == 200
    assert client.get("/healthz").status_code == 200 and client.get("/openapi.json").status_code == 200
    assert "s3cret-key" not in caplog.text and "s3cret-key" not in repr(client.app.state.settings)


def test_cors_for_configured_origins(service):
    client = client_for(service, cors_origins=["https://partners.example"])
    allowed = client.get("/v1/meta", headers={"Origin": "https://partners.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://partners.example"
    other = client.get("/v1/meta", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("body", [b"x" * 2000, iter([b"x" * 600, b"x" * 600])], ids=["declared", "chunked"])
def test_oversized_bodies_are_refused(service, body):
    client = client_for(service, max_body_bytes=1000)
    response = client.post("/v1/recommendations", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "1,000 bytes" in response.json()["message"]


def test_one_json_log_line_per_request_without_query_string(client, caplog):
    caplog.set_level(logging.INFO, logger="api")
    client.get("/v1/cities", params={"q": "Portland", "token": "hush"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "api"]
    assert len(lines) == 1
    assert lines[0]["method"] == "GET" and lines[0]["path"] == "/v1/cities" and lines[0]["status"] == 200
    assert lines[0]["duration_ms"] >= 0 and "hush" not in caplog.text


def test_openapi_describes_every_endpoint(client):
    schema = call(client, "/openapi.json")
    assert {"/healthz", "/readyz", "/v1/meta", "/v1/cities", "/v1/cities/{geonameid}",
            "/v1/cities/{geonameid}/partners", "/v1/cities/{geonameid}/recommendations", "/v1/recommendations",
            "/v1/compare"} <= set(schema["paths"])
    for path in schema["paths"].values():
        for operation in path.values():
            assert "$ref" in json.dumps(operation["responses"]["200"])  # a described body, not 'any'
    assert client.get("/docs").status_code == 200


@pytest.mark.skipif(not (STATIC / "index.html").exists(), reason="no planner page")
def test_the_planner_page_is_served_at_the_root(client):
    response = client.get("/")
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]


def test_serve_without_a_build_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.setenv("MATCHER_HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code != 0 and "matcher build" in result.output
