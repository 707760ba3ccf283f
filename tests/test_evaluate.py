"""`matcher evaluate`: the metrics, and held-out targets counted by what links them to their query city."""

import numpy as np
import pytest

from matcher.evaluate import PATHS, cold_split, evaluate_split, metrics, paths_report
from matcher.rank import PartnerRanker


def test_metrics_of_one_ranking():
    order = np.array([5, 3, 9, 1] + list(range(10, 70)))
    found = metrics(order, {3, 1, 60})
    assert found["recall@10"] == pytest.approx(2 / 3)
    assert found["recall@50"] == pytest.approx(2 / 3)  # 60 is 54th
    assert found["mrr"] == pytest.approx(1 / 2)
    ideal = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    assert found["ndcg@10"] == pytest.approx((1 / np.log2(3) + 1 / np.log2(5)) / ideal)


def test_paths_report_shares_and_hits():
    report = paths_report([("not connected", 3), ("not connected", 70), ("shares a partner", 0),
                           ("outside the pool", 900)])
    assert list(report) == PATHS
    assert [report[p]["share"] for p in PATHS] == [0.25, 0.0, 0.0, 0.5, 0.25]
    assert report["not connected"] == {"share": 0.5, "found@10": 0.5, "found@50": 0.5}
    assert report["chain of three partnerships"]["found@10"] is None  # no target: no rate


def test_a_cold_city_is_not_connected_to_its_held_out_partners(curated_build):
    """Under the cold protocol the query city keeps no partner in the training graph, so no chain of partnerships
    of any length reaches a target; the shares of all targets add up to one."""
    from matcher.engine import city_table

    table = city_table(curated_build)
    pairs = curated_build.pairs
    a, b = (pairs[side].map(table.position).to_numpy() for side in ("a", "b"))
    rng = np.random.default_rng(0)
    split = cold_split(a, b, np.ones(len(a), bool), rng, n_cities=12)
    ranker = PartnerRanker(n_estimators=20, max_queries=300, tree_queries=100, n_jobs=1)
    report = evaluate_split(table, split, ranker, rng, max_queries=12)["_paths"]
    assert sum(row["share"] for row in report.values()) == pytest.approx(1)
    assert report["not connected"]["share"] > 0
    assert report["not connected"]["share"] + report["outside the pool"]["share"] == pytest.approx(1)
