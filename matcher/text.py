"""Name folding: one key for the many spellings of a place name."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii

# Letters that NFKD does not split into a base letter and a mark.
_SPECIAL = str.maketrans({"ß": "ss", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "æ": "ae", "Æ": "ae",
                          "œ": "oe", "Œ": "oe", "đ": "d", "Đ": "d", "ı": "i", "þ": "th", "ð": "d"})
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "mt": "mount", "ft": "fort", "sv": "sveti"}
_NON_WORD = re.compile(r"[^\w]+")


@lru_cache(maxsize=500_000)
def fold(text: str) -> str:
    """Lower-case, accent-free, punctuation-free form of a name ('St. Étienne' -> 'saint etienne')."""
    text = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    words = _NON_WORD.sub(" ", text).replace("_", " ").split()
    return " ".join(_ABBREVIATIONS.get(word, word) for word in words)


def fold_ascii(text: str) -> str:
    """fold() after transliteration to Latin letters ('Москва' -> 'moskva')."""
    return fold(anyascii(text))


def name_keys(text: str) -> set[str]:
    """Every key a name is indexed under: its folded form and its transliterated form."""
    return {key for key in (fold(text), fold_ascii(text)) if key}
