"""Great-circle geometry: the fast float32 log-distance agrees with the haversine formula."""

import numpy as np

from matcher.geo import haversine_km, log_cosine_km, unit_vectors


def test_log_distance_from_cosines_matches_haversine_near_and_far():
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-89, 89, 2000), rng.uniform(-180, 180, 2000)
    # Points 1 m to 100 km from the first ones as well as anywhere on the globe.
    near_lat = lat + rng.choice([1e-5, 1e-3, 0.1, 1.0], 2000) * rng.choice([-1, 1], 2000)
    lat2, lon2 = np.r_[rng.uniform(-89, 89, 2000), near_lat], np.r_[rng.uniform(-180, 180, 2000), lon]
    lat1, lon1 = np.r_[lat, lat], np.r_[lon, lon]
    cosines = (unit_vectors(lat1, lon1) * unit_vectors(lat2, lon2)).sum(axis=1)
    expected = np.log1p(haversine_km(lat1, lon1, lat2, lon2))
    assert log_cosine_km(cosines).dtype == np.float32
    np.testing.assert_allclose(log_cosine_km(cosines), expected, atol=1e-5)
    assert log_cosine_km(np.array([1.0, -1.0]))[0] == 0.0
    # -inf: no such city (e.g. a city without partners has no nearest partner)
    assert np.isnan(log_cosine_km(np.array([-np.inf, 0.5]))).tolist() == [True, False]
