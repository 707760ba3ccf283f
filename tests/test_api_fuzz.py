"""The API fuzzed from its own OpenAPI description (schemathesis): no 5xx, responses as described."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from api.deps import Service, warm_embedder
from api.main import create_app
from api.settings import Settings

pytestmark = pytest.mark.slow

# The description does not depend on the catalogue: the app is made here and given the engine once loaded.
APP = create_app(Settings(api_keys=[], cors_origins=[]))
# A request the schema allows may still name a country, vocabulary id or partner the catalogue does not know:
# a 422 with the valid values, like an id it does not have is a 404.
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "404", "422"]}}})
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)


@pytest.fixture(scope="module", autouse=True)
def loaded(engine):
    warm_embedder(engine)  # the first intent would otherwise load the model within a request's time
    APP.state.service = Service.of(engine)
    yield
    APP.state.service = None


@schema.parametrize()
@settings(max_examples=50, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_described(case):
    case.call_and_validate()
