"""The numpy MiniLM that embeds intents while serving gives sentence-transformers' own vectors."""

import numpy as np
import pytest

from matcher.embed import _model
from matcher.minilm import MAX_TOKENS, minilm

TEXTS = [
    "port city with maritime logistics and a Portuguese-speaking community",
    "",
    "Zürich \x00\t\u200b control and zero-width characters",
    "Kraków 北京 مدينة Ελλάδα",
    "a long description, " * 200,  # past the token limit: truncated the same way
]


@pytest.mark.slow
def test_numpy_minilm_equals_sentence_transformers():
    expected = _model().encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    got = np.stack([minilm().encode(text) for text in TEXTS])
    assert len(minilm().tokenizer.encode(TEXTS[-1]).ids) == MAX_TOKENS
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1, atol=1e-6)
