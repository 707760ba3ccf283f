"""Hostile and odd input (test_api.py has the ordinary invalid values): every answer is JSON with a message a
person can act on, never a 5xx or a traceback."""

import json
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.deps import Service
from api.main import create_app
from api.settings import Settings

pytestmark = pytest.mark.slow  # the curated build

PORTLAND, PARIS = 5746545, 2988507
RECOMMEND = f"/v1/cities/{PORTLAND}/recommendations"
ODD = {"nul": "Port\x00land", "rtl": "\u200f\u202eParis\u202c", "emoji": "😀🏙️", "combining": "Zu\u0308rich",
       "controls": "\x01\x1b[31m\x7f", "bidi_digits": "\u0661\u0662", "replacement": "\ufffd"}


@pytest.fixture(scope="module")
def client(engine, curated_build):
    app = create_app(Settings(matcher_home=curated_build.path, api_keys=[]), Service.of(engine))
    return TestClient(app, raise_server_exceptions=False)


def answered(response, statuses=(200,)) -> dict:
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"] == "application/json"
    assert "Traceback" not in response.text and 'File "' not in response.text
    return response.json()


def refused(response, status: int) -> str:
    message = answered(response, (status,))["message"]
    assert len(message) > 15
    return message


def post(client, body=None, content: bytes | None = None, content_type="application/json"):
    if body is not None:
        content = json.dumps(body).encode()
    return client.post("/v1/recommendations", content=content, headers={"content-type": content_type})


def described(**changes) -> dict:
    return {"name": "Havenstad", "country": "NL", "latitude": 52.9, "longitude": 4.8, "population": 85_000,
            **changes}


# -- ids ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["-1", "12.5", "1e5", "0x1F", "99999999999999999999", "%00", "%ED%A0%80", "😀"])
def test_malformed_ids_are_a_404_that_says_what_an_id_is(client, text):
    for path in ("/v1/cities/{}", "/v1/cities/{}/partners", "/v1/cities/{}/recommendations"):
        assert "not a GeoNames id" in refused(client.get(path.format(text)), 404)
    assert "not a GeoNames id" in refused(client.get("/v1/compare", params={"city": PORTLAND, "candidates": text}),
                                          404)


def test_an_id_longer_than_any_name_is_a_422(client):
    assert "at most 200 characters" in refused(client.get(f"/v1/cities/{'9' * 300}"), 422)


@pytest.mark.parametrize("path", ["/v1/cities/..%2F..%2F..%2Fetc%2Fpasswd", "/..%2F..%2Fapi%2Fmain.py",
                                  "/static/../../pyproject.toml", "/%2e%2e/%2e%2e/README.md"])
def test_no_file_outside_the_page_is_served(client, path):
    response = client.get(path)
    assert response.status_code == 404 and "root:" not in response.text and "[project]" not in response.text


# -- numbers --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [10**12, -5, "ten", "1e3", "5.5", ""])
def test_k_beyond_its_range_or_not_a_number_is_a_422_naming_it(client, k):
    assert "k:" in refused(client.get(RECOMMEND, params={"k": k}), 422)
    assert "k:" in refused(post(client, {"profile": described(), "k": k}), 422)


# -- text -----------------------------------------------------------------------------------------------
def test_empty_and_huge_texts(client):
    assert "at least 1 character" in refused(client.get("/v1/cities", params={"q": ""}), 422)
    assert "at most 200 characters" in refused(client.get("/v1/cities", params={"q": "a" * 10_000}), 422)
    assert answered(client.get("/v1/cities", params={"q": " , ,"}))["results"] == []
    assert "at most 1000 characters" in refused(client.get(RECOMMEND, params={"intent": "a" * 10_000}), 422)
    assert "intent" in refused(post(client, {"profile": described(), "intent": "a" * 10_000}), 422)
    assert "description" in refused(post(client, {"profile": described(description="a" * 10_000)}), 422)
    plain = answered(client.get(RECOMMEND))["results"]
    assert answered(client.get(RECOMMEND, params={"intent": ""}))["results"] == plain
    assert answered(client.get(RECOMMEND, params={"intent": "   "}))["results"] == plain


def test_odd_characters_in_a_search_fold_away(client):
    found = answered(client.get("/v1/cities", params={"q": ODD["rtl"]}))["results"]
    assert found[0]["geonameid"] == PARIS
    assert answered(client.get("/v1/cities", params={"q": ODD["combining"]}))["results"][0]["name"] == "Zürich"


@pytest.mark.parametrize("name", ODD)
def test_odd_characters_in_every_text_parameter(client, name):
    text = ODD[name]
    for path, params in [("/v1/cities", {"q": text}), ("/v1/cities", {"q": "Paris", "country": text}),
                         (f"/v1/cities/{quote(text, safe='')}", {}),
                         ("/v1/compare", {"city": text, "candidates": PARIS}),
                         ("/v1/compare", {"city": PORTLAND, "candidates": f"{PARIS},{text}"}),
                         (RECOMMEND, {"intent": text}), (RECOMMEND, {"intent": text * 100})]:
        answered(client.get(path, params=params), (200, 404, 422))
    for field in ("countries", "exclude_countries", "continents", "industries", "themes", "languages"):
        assert "unknown" in refused(client.get(RECOMMEND, params={field: f"{text},x"}), 422)
    body = answered(post(client, {"profile": described(name=text, description=text * 50), "intent": text, "k": 3}))
    assert body["query"]["name"] == text and len(body["results"]) == 3
    for field in ("industries", "themes", "diaspora"):
        assert "unknown" in refused(post(client, {"profile": described(**{field: [text]})}), 422)
    assert "unknown" in refused(post(client, {"profile": described(), "countries": [text]}), 422)


@pytest.mark.parametrize("escaped", [b'"\\ud800"', b'"a\\udfffb"'])
def test_unpaired_surrogates_in_json_are_a_422(client, escaped):
    profile = b'{"name": ' + escaped + b', "country": "NL", "latitude": 1, "longitude": 1, "population": 1}'
    assert "profile.name" in refused(post(client, content=b'{"profile": ' + profile + b"}"), 422)
    assert "intent" in refused(post(client, content=b'{"intent": ' + escaped + b', "profile": {}}'), 422)


# -- bodies ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("content, message", [
    (b"", "must be a JSON object"), (b"[]", "must be a JSON object"), (b"null", "must be a JSON object"),
    (b'"profile"', "must be a JSON object"), (b'{"profile": {}} trailing', "malformed JSON"),
    (b"\xff\xfe{\x00}", "not UTF-8"), (b"[" * 30_000, "nested too deeply"), (b'{"k": 1,}', "malformed JSON"),
])
def test_malformed_bodies_are_a_422(client, content, message):
    assert message in refused(post(client, content=content), 422)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/xml"])
def test_a_body_of_another_content_type_is_a_422_asking_for_json(client, content_type):
    body = json.dumps({"profile": described()}).encode()
    assert "Content-Type: application/json" in refused(post(client, content=body, content_type=content_type), 422)


def test_bodies_over_the_default_limit_are_refused(client):
    body = {"profile": described(description="harbour " * 12_000)}
    assert "65,536 bytes" in refused(post(client, body), 413)


@pytest.mark.parametrize("profile, field", [
    ('"latitude": NaN', "profile.latitude"), ('"longitude": Infinity', "profile.longitude"),
    ('"latitude": -Infinity', "profile.latitude"), ('"latitude": 200', "profile.latitude"),
    ('"population": -1', "profile.population"), ('"population": 1.5', "profile.population"),
    ('"population": 1e30', "profile.population"), ('"latitude": "north"', "profile.latitude"),
    ('"country": "N\\u0000"', "profile.country"), ('"partners": ["x"]', "profile.partners.0"),
])
def test_impossible_profile_values_are_a_422_naming_the_field(client, profile, field):
    fields = {"name": '"X"', "country": '"NL"', "latitude": "52", "longitude": "4", "population": "1000"}
    fields[profile.split(":")[0].strip('"')] = profile.split(":", 1)[1]
    content = ('{"profile": {' + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}}").encode()
    assert field in refused(post(client, content=content), 422)


@pytest.mark.parametrize("body, listed", [
    ({"themes": ["nope"]}, "unknown themes ['nope']; valid: ancient_city"),
    ({"industries": ["fishing", "nope"]}, "unknown industries ['nope']; valid: aerospace"),
    ({"continents": ["XX"]}, "valid: AF, AN, AS, EU, NA, OC, SA"),
])
def test_unknown_vocabulary_in_a_body_lists_the_valid_ids(client, body, listed):
    assert listed in refused(post(client, {"profile": described(), **body}), 422)


# -- methods --------------------------------------------------------------------------------------------
def test_a_wrong_method_on_an_api_path_names_the_right_one(client):
    response = client.get("/v1/recommendations")
    assert refused(response, 405) and response.headers["allow"] == "POST"
    assert client.patch(f"/v1/cities/{PORTLAND}").headers["allow"] == "GET"
