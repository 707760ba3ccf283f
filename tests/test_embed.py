"""City texts are embedded once, cached by text, and get the same vector whatever else is embedded beside them."""

import numpy as np
import pytest

from matcher.embed import EmbeddingCache

TEXTS = [
    "Porto, a port city in Portugal with maritime logistics, wine and a university.",
    "Sapporo",
    "A small market town in the hills, known for cheese, a medieval castle and a summer music festival.",
    "Kraków 北京 مدينة Ελλάδα",
    "An industrial city on a river: steel, chemicals, rail engineering, a technical university, "
    "a football club and a large Turkish community. " * 6,
]


@pytest.mark.slow
def test_a_vector_does_not_depend_on_its_batch_or_the_thread_count(monkeypatch):
    monkeypatch.setenv("MATCHER_JOBS", "1")
    alone = np.stack([EmbeddingCache(None).embed([text])[0] for text in TEXTS])
    monkeypatch.setenv("MATCHER_JOBS", "2")
    together = EmbeddingCache(None).embed(TEXTS[::-1])[::-1]
    assert together.dtype == np.float32 and together.shape == (len(TEXTS), 384)
    assert np.array_equal(alone, together)  # bit for bit: float noise would change the ranker's negative draws
    np.testing.assert_allclose(np.linalg.norm(alone, axis=1), 1, atol=1e-6)


@pytest.mark.slow
def test_only_texts_never_seen_are_embedded(tmp_path):
    first = EmbeddingCache(tmp_path)
    vectors = first.embed(TEXTS[:3] + TEXTS[:1])
    assert first.computed == 3 and np.array_equal(vectors[0], vectors[3])
    again = EmbeddingCache(tmp_path)  # read back from disk
    assert np.array_equal(again.embed(TEXTS[:3]), vectors[:3]) and again.computed == 0
    again.embed(TEXTS[1:])
    assert again.computed == 2
    assert EmbeddingCache(tmp_path).embed([]).shape == (0, 384)
