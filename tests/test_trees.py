import lightgbm as lgb
import numpy as np
import pytest

from matcher.trees import FlatTrees


@pytest.fixture(scope="module")
def booster():
    """A small model on data with unknown values and a column of zeros and NaNs (LightGBM's missing types)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 6))
    X[rng.random(X.shape) < 0.2] = np.nan
    X[:, 5] = np.where(rng.random(2000) < 0.5, 0.0, np.nan)
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) * np.isnan(X[:, 2]) > 0.3).astype(int)
    return lgb.LGBMClassifier(n_estimators=40, num_leaves=15, min_child_samples=5, verbose=-1,
                              n_jobs=1).fit(X, y).booster_, X


def test_scores_equal_lightgbm(booster):
    model, X = booster
    np.testing.assert_allclose(FlatTrees(model).raw_scores(X.astype(np.float32)),
                               model.predict(X.astype(np.float32), raw_score=True), rtol=0, atol=1e-9)


def test_contributions_sum_to_the_score_and_credit_used_features(booster):
    model, X = booster
    trees = FlatTrees(model)
    contributions = trees.contributions(X[:50])
    np.testing.assert_allclose(contributions.sum(axis=1) + trees.bias, trees.raw_scores(X[:50]), atol=1e-9)
    unused = model.feature_importance("split") == 0
    assert not np.abs(contributions[:, unused]).any() and np.abs(contributions[:, 0]).mean() > 0.1
