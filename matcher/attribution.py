"""Per-feature contributions of a LightGBM model, fast enough for every request.

LightGBM's own SHAP values (`pred_contrib`) cost about 2.7 ms per row here; an interactive request needs twenty
rows. This computes path attributions instead (Saabas: each split on a row's path credits its feature with the
change in the expected output it causes), for all rows and trees at once with numpy, in about a millisecond. They
sum to the raw score exactly, like SHAP values, and agree with them on the features that matter most.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np


class PathAttribution:
    """The trees of a booster as flat node arrays; children of leaves point to themselves."""

    def __init__(self, booster: lgb.Booster):
        self.n_features = booster.num_feature()
        feature, threshold, nan_left, nan_is_zero, left, right, value, roots = [], [], [], [], [], [], [], []

        def add(node: dict) -> int:
            index = len(value)
            for column in (feature, threshold, nan_left, nan_is_zero, left, right):
                column.append(0)
            value.append(node.get("internal_value", node.get("leaf_value")))
            if "split_index" not in node:
                left[index] = right[index] = index
                return index
            if node["decision_type"] != "<=":
                raise ValueError("only numerical splits are supported")
            feature[index], threshold[index] = node["split_feature"], node["threshold"]
            nan_left[index] = node["default_left"]
            nan_is_zero[index] = node["missing_type"] == "None"  # LightGBM reads NaN as 0 at such splits
            left[index], right[index] = add(node["left_child"]), add(node["right_child"])
            return index

        for tree in booster.dump_model()["tree_info"]:
            roots.append(add(tree["tree_structure"]))
        self.feature, self.threshold = np.array(feature), np.array(threshold, float)
        self.nan_left, self.nan_is_zero = np.array(nan_left, bool), np.array(nan_is_zero, bool)
        self.left, self.right = np.array(left), np.array(right)
        self.value, self.roots = np.array(value, float), np.array(roots)
        self.is_leaf = self.left == np.arange(len(value))

    def contributions(self, X: np.ndarray) -> tuple[np.ndarray, float]:
        """(rows x features contributions, bias): bias + row sum = the raw score of each row."""
        X = np.asarray(X, float)
        rows = np.repeat(np.arange(len(X)), len(self.roots))
        node = np.tile(self.roots, len(X))
        out = np.zeros(len(X) * self.n_features)
        while True:
            active = np.flatnonzero(~self.is_leaf[node])
            if not len(active):
                break
            at = node[active]
            x = X[rows[active], self.feature[at]]
            missing = np.isnan(x)
            x = np.where(missing & self.nan_is_zero[at], 0.0, x)
            go_left = np.where(np.isnan(x), self.nan_left[at], x <= self.threshold[at])
            child = np.where(go_left, self.left[at], self.right[at])
            out += np.bincount(rows[active] * self.n_features + self.feature[at],
                               weights=self.value[child] - self.value[at], minlength=len(out))
            node[active] = child
        return out.reshape(len(X), self.n_features), float(self.value[self.roots].sum())
