"""Great-circle geometry."""

from __future__ import annotations

import math

import numba
import numpy as np

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km; broadcasts over arrays."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def unit_vectors(lat, lon) -> np.ndarray:
    """Points on the unit sphere (rows x 3): their dot products are the cosines of the great-circle angles."""
    lat, lon = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def cosine_km(cosine: float) -> float:
    """Great-circle km from the cosine of the angle (one value: `log_cosine_km` is for arrays)."""
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(0.5 - 0.5 * cosine, 0.0), 1.0)))


def log_cosine_km(cosine: np.ndarray) -> np.ndarray:
    """log(1 + great-circle km) from the cosines of the angles (one dimension), as float32; NaN where the cosine is
    -inf (no such city). Error under 1e-5 (tested): 0.2 ms over 42k cities, where numpy's float32 arcsine took
    0.7 ms and a compiled loop calling the maths library 1.2 ms."""
    one_plus_km = _one_plus_km(np.ascontiguousarray(cosine, dtype=np.float64))
    return np.log(one_plus_km, out=one_plus_km)  # numpy's float32 logarithm is vectorised


@numba.njit(cache=True, nogil=True)
def _one_plus_km(cosine):
    """1 + km: the half chord in float64, which keeps metres between nearby points; the arcsine as Cephes' float32
    polynomial (relative error 2.5e-7), arithmetic the compiler vectorises."""
    out = np.empty(len(cosine), np.float32)
    for i in range(len(cosine)):
        h = np.float32(math.sqrt(min(max(0.5 - 0.5 * cosine[i], 0.0), 1.0)))
        folded = h > np.float32(0.5)  # asin(h) = pi/2 - 2 asin(sqrt((1 - h) / 2))
        z = np.float32(0.5) * (np.float32(1) - h) if folded else h * h
        x = np.float32(math.sqrt(z)) if folded else h
        asin = ((((np.float32(4.2163199048e-2) * z + np.float32(2.4181311049e-2)) * z + np.float32(4.5470025998e-2))
                 * z + np.float32(7.4953002686e-2)) * z + np.float32(1.6666752422e-1)) * z * x + x
        angle = np.float32(math.pi / 2) - np.float32(2) * asin if folded else asin
        out[i] = np.nan if cosine[i] == -np.inf else np.float32(1) + np.float32(2 * EARTH_RADIUS_KM) * angle
    return out


def valid_coordinates(lat, lon) -> bool:
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return False
    return bool(np.isfinite(lat) and np.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180
                and not (lat == 0 and lon == 0))
