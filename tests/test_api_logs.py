"""The access log: one JSON line per request whatever its outcome, and no secret in any log line."""

import json
import logging

import pytest
from fastapi.testclient import TestClient

from api.deps import Service
from api.main import create_app
from api.settings import Settings

pytestmark = pytest.mark.slow  # the curated build

KEY = "key-s3cret"
WITH_KEY = {"X-API-Key": KEY}
CLIENT_LOGGERS = ("httpx", "httpcore")  # the test client's own log of the URLs it calls


@pytest.fixture(scope="module")
def client(engine, curated_build):
    app = create_app(Settings(matcher_home=curated_build.path, api_keys=[KEY], max_body_bytes=1000),
                     Service.of(engine))
    return TestClient(app, raise_server_exceptions=False)


def broken(*args, **kwargs):
    raise RuntimeError("boom")


@pytest.mark.parametrize("method, path, options, status", [
    ("GET", "/v1/cities", {"params": {"q": "Portland", "token": "tok-s3cret"}}, 200),
    ("GET", "/v1/cities/999999999", {"params": {"password": "pw-s3cret"}}, 404),
    ("GET", "/v1/cities/5746545/recommendations", {"params": {"k": 0, "api_key": KEY}}, 422),
    ("GET", "/v1/cities/5746545/recommendations", {"params": {"intent": "pw-s3cret"}}, 500),
    ("GET", "/v1/meta", {"headers": {"X-API-Key": "wrong-s3cret"}}, 401),
    ("POST", "/v1/recommendations", {"content": b'{"secret": "s3cret"' + b" " * 2000 + b"}"}, 413),
    ("POST", "/v1/recommendations", {"json": {"profile": {"name": "pw-s3cret"}}}, 422),
    ("DELETE", "/v1/meta", {}, 405),
    ("GET", "/healthz", {}, 200),
])
def test_one_line_per_request_without_secrets(client, engine, caplog, monkeypatch, method, path, options, status):
    if status == 500:
        monkeypatch.setattr(engine.recommender, "for_city", broken)
    caplog.set_level(logging.DEBUG)
    options = dict(options)
    headers = {**WITH_KEY, "content-type": "application/json", **options.pop("headers", {})}
    response = client.request(method, path, headers=headers, **options)
    assert response.status_code == status
    access = [json.loads(r.getMessage()) for r in caplog.records if r.name == "api" and "status" in r.getMessage()]
    assert access == [{"method": method, "path": path, "status": status, "duration_ms": access[0]["duration_ms"]}]
    assert 0 <= access[0]["duration_ms"] < 60_000
    server = [r for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]
    assert not [r for r in server if "s3cret" in logging.Formatter().format(r)] and "s3cret" not in response.text
