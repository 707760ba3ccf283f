"""Simultaneous requests get exactly the answers they get one at a time."""

import json
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from api.deps import Service, warm_embedder
from api.main import create_app
from api.settings import Settings

pytestmark = pytest.mark.slow  # the curated build

PORTLAND, PARIS, SAPPORO = 5746545, 2988507, 2128295


def requests(engine) -> list[tuple[str, str, dict]]:
    """32 different requests over every endpoint: recommendations with and without filters, described cities,
    comparisons, searches, profiles."""
    cities = engine.table.cities
    busiest = cities.sort_values(["partner_count", "population"], ascending=False).index[:12].tolist()
    filters = [{}, {"countries": "FR,DE,IT"}, {"continents": "AS", "min_population": 100_000},
               {"intent": "wine growing and a university"}, {"diversity": 1, "k": 20},
               {"exclude_countries": "US", "languages": "es", "k": 5}]
    made = [("GET", f"/v1/cities/{gid}/recommendations", filters[i % len(filters)]) for i, gid in enumerate(busiest)]
    for i, name in enumerate(["Havenstad", "Bergdorf", "Riverton", "Sandport"]):
        profile = {"name": name, "country": ["NL", "AT", "US", "AU"][i], "latitude": 50 - 10 * i,
                   "longitude": 4 + 20 * i, "population": 50_000 * (i + 1), "industries": ["fishing"],
                   "description": f"{name}: a town with a harbour, a university and a wine festival."}
        made.append(("POST", "/v1/recommendations", {"profile": profile, "k": 8, "continents": ["EU", "NA"][i % 2:]}))
    others = [gid for gid in busiest if gid not in (PARIS, SAPPORO)]
    made += [("GET", "/v1/compare", {"city": gid, "candidates": f"{PARIS},{SAPPORO}"}) for gid in others[:3]]
    made += [("GET", "/v1/cities", {"q": q}) for q in ["Portland", "Sa", "zurich", "Portlnd", "Frankfurt, Oder"]]
    made += [("GET", f"/v1/cities/{gid}{tail}", {}) for gid in busiest[:3] for tail in ("", "/partners")]
    return made + [("GET", f"/v1/cities/{name}/recommendations", {}) for name in ("999999999", "Portlnd")]


def answer(client, request) -> tuple[int, str]:
    method, path, params = request
    response = client.post(path, json=params) if method == "POST" else client.get(path, params=params)
    return response.status_code, json.dumps(response.json(), sort_keys=True)


def test_simultaneous_requests_get_the_sequential_answers(engine, curated_build):
    warm_embedder(engine)
    app = create_app(Settings(matcher_home=curated_build.path, api_keys=[], threads=1), Service.of(engine))
    made = requests(engine)
    assert len(made) == 32
    with TestClient(app) as client:  # one event loop; the endpoints run in its thread pool, as under uvicorn
        expected = [answer(client, request) for request in made]
        assert [status for status, _ in expected].count(404) == 2
        for seed in range(2):
            order = random.Random(seed).sample(range(len(made)), len(made))
            with ThreadPoolExecutor(8) as pool:
                got = dict(zip(order, pool.map(lambda i: answer(client, made[i]), order)))
            assert [got[i] for i in range(len(made))] == expected


def test_the_cache_answers_identical_requests_with_the_same_bytes(engine, curated_build, monkeypatch):
    app = create_app(Settings(matcher_home=curated_build.path, api_keys=[]), Service.of(engine, cache_size=2))
    client, computed = TestClient(app), []
    for_city = engine.recommender.for_city
    monkeypatch.setattr(engine.recommender, "for_city", lambda *args: computed.append(args[0]) or for_city(*args))

    def get(gid, **params):
        return client.get(f"/v1/cities/{gid}/recommendations", params={"k": 5, **params}).content

    first = get(PORTLAND, countries="fr,de")
    assert get(PORTLAND, countries="FR, DE") == first and computed == [PORTLAND]  # the same request, normalised
    assert get(PORTLAND, countries="FR") != first and get(PARIS) and get(SAPPORO)
    assert get(PORTLAND, countries="fr,de") == first and computed == [PORTLAND] * 2 + [PARIS, SAPPORO, PORTLAND]
    assert json.loads(first) == json.loads(TestClient(create_app(Settings(), Service.of(engine))).get(
        f"/v1/cities/{PORTLAND}/recommendations", params={"k": 5, "countries": "fr,de"}).content)
