"""A LightGBM model's trees as flat node arrays, walked by compiled loops: scores and per-feature contributions.

Interactive requests score a shortlist of a few hundred rows and explain a few dozen. LightGBM's `predict` costs
about 7.6 us a row here (2.3 ms for a shortlist, both directions) and its SHAP values (`pred_contrib`) 2.7 ms a row;
these loops take a fraction of that. Contributions are path attributions (Saabas: each split on a row's path
credits its feature with the change in the expected output it causes): they sum to the raw score exactly, like SHAP
values, and agree with them on the features that matter most. Scores equal LightGBM's own (tested).
"""

from __future__ import annotations

import lightgbm as lgb
import numba
import numpy as np


class FlatTrees:
    """The trees of a booster as flat node arrays."""

    def __init__(self, booster: lgb.Booster):
        self.n_features = booster.num_feature()
        feature, threshold, nan_left, leaf, right, value, roots = [], [], [], [], [], [], []

        def add(node: dict) -> int:  # depth first: a split's left child is the node after it
            index = len(value)
            for column in (feature, threshold, nan_left, leaf, right):
                column.append(0)
            value.append(node.get("internal_value", node.get("leaf_value")))
            if "split_index" not in node:
                leaf[index] = True
                return index
            if node["decision_type"] != "<=":
                raise ValueError("only numerical splits are supported")
            feature[index], threshold[index] = node["split_feature"], node["threshold"]
            # Where a NaN goes: LightGBM reads it as 0 at splits whose missing type is None
            nan_left[index] = (0.0 <= node["threshold"]) if node["missing_type"] == "None" else node["default_left"]
            add(node["left_child"])
            right[index] = add(node["right_child"])
            return index

        for tree in booster.dump_model()["tree_info"]:
            roots.append(add(tree["tree_structure"]))
        self.nodes = (np.array(feature, np.intp), np.array(threshold, float), np.array(nan_left, bool),
                      np.array(leaf, bool), np.array(right, np.intp), np.array(value, float))
        self.roots = np.array(roots, np.intp)
        self.bias = float(np.array(value)[self.roots].sum())  # the expected output: every root's value

    def raw_scores(self, X: np.ndarray) -> np.ndarray:
        """The model's raw score (logit) of each row, as `booster.predict(X, raw_score=True)`."""
        return _walk(np.ascontiguousarray(X), self.roots, *self.nodes, np.zeros((0, self.n_features)))

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Rows x features contributions: the bias plus a row's sum is that row's raw score."""
        out = np.zeros((len(X), self.n_features))
        _walk(np.ascontiguousarray(X), self.roots, *self.nodes, out)
        return out


@numba.njit(cache=True, nogil=True)
def _walk(X, roots, feature, threshold, nan_left, leaf, right, value, contributions):
    """Each row down each tree (tree by tree: 20 % faster than row by row): the sum of the leaves it reaches; with
    `contributions` (rows x features, or 0 rows to skip them), each split's change in the expected output added to
    its feature's column. The step is a select, not a branch (15-20 % faster: the path is unpredictable)."""
    scores = np.zeros(len(X))
    attribute = len(contributions) > 0
    for root in roots:
        for i in range(len(X)):
            node = root
            while not leaf[node]:
                x = X[i, feature[node]]
                child = node + 1 if (x <= threshold[node]) or (x != x and nan_left[node]) else right[node]
                if attribute:
                    contributions[i, feature[node]] += value[child] - value[node]
                node = child
            scores[i] += value[node]
    return scores
