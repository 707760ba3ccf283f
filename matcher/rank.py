"""The learned two-sided ranker: LightGBM over pair features, with hard negatives.

A pair must suit both cities: the score of A and B is the mean of the model's A -> B and B -> A scores. Two stages,
trained in turn: a cheap prefilter (logistic regression on the standardised features and their squares, with a
second set of weights for a city A without partners) narrows the whole catalogue to a shortlist, and the trees
re-rank that shortlist (trees over every city of the catalogue cost too much time for an interactive request). The
prefilter learns from sampled negatives, the trees from the prefilter's own shortlists and the partners within
their reach: the candidates they will meet in service.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import BallTree
from threadpoolctl import threadpool_limits

from matcher import __version__
from matcher.features import COLUMN, FEATURES, SWAP, Graph, as_count, pair_features, swap_sides
from matcher.prefilter import CatalogueScorer
from matcher.table import CityTable
from matcher.trees import FlatTrees

ARTEFACT_FORMAT = 6
COLD_BATCH = 250  # training queries whose cold ones share one graph without their edges
PREFILTER_SAMPLE = 100_000  # training rows each of the prefilter's logistic regressions is fitted on
DEGREE_A = COLUMN["degree_a"]  # log1p of A's number of partners


@dataclass
class Negatives:
    """How many negatives of each kind a training query gets. The prefilter learns from the first six kinds; the
    trees from the prefilter's shortlist (`PartnerRanker.shortlist`) and a few random ones."""
    random: int = 100
    popular: int = 6
    nearby: int = 6
    same_country: int = 6
    partner_country: int = 8
    similar_text: int = 6
    random_for_trees: int = 30


class PartnerRanker:
    def __init__(self, objective: str = "binary", two_sided: bool = True,
                 n_estimators: int = 200, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 100, max_queries: int = 6000, tree_queries: int = 2000,
                 cold_tree_queries: int = 4000, shortlist: int = 150, partner_reach: int = 1000,
                 cold_share: float = 0.3, negatives: Negatives | None = None, random_state: int = 0, n_jobs: int = 1):
        self.objective = objective
        self.two_sided = two_sided
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.max_queries = max_queries
        self.tree_queries = tree_queries
        self.cold_tree_queries = cold_tree_queries
        self.shortlist = shortlist
        self.partner_reach = partner_reach
        self.cold_share = cold_share
        self.negatives = negatives or Negatives()
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- training -----------------------------------------------------------------------------------
    @threadpool_limits.wrap(limits=1, user_api="blas")
    def fit(self, table: CityTable, graph: Graph, pool: np.ndarray) -> "PartnerRanker":
        """Learn from the partnerships in `graph`; negatives are drawn from the catalogue positions in `pool`.

        A share of the query cities is made cold: all their edges are taken out of the graph their features come
        from, as for a city seeking its first partner. The trees learn from the first `tree_queries` of them, and
        from the next `cold_tree_queries` made cold.

        BLAS runs on one thread throughout: its sums then come in one order, and a build trains the same ranker
        whatever the machine's thread settings (with two BLAS threads, the prefilter's weights, and so every tree,
        came out different)."""
        rng = np.random.default_rng(self.random_state)
        queries = np.flatnonzero(graph.degree > 0)
        if len(queries) > self.max_queries:
            queries = rng.choice(queries, self.max_queries, replace=False)
        cold = rng.random(len(queries)) < self.cold_share
        X, y = self._rows(self._sampled_rows, table, graph, pool, queries, cold, rng)
        self._fit_prefilter(X, y)
        # Cold rows are scarce among the first `tree_queries` (30%), and a cold query's rows carry no graph signal
        # from its side: the next `cold_tree_queries`, all made cold, teach the trees to rank for cities seeking a
        # first partner (measured in `models/MODEL_CARD.md`).
        queries, head = queries[:self.tree_queries + self.cold_tree_queries], cold[:self.tree_queries]
        cold = np.r_[head, np.ones(len(queries) - len(head), bool)]
        X, y, groups = self._rows(self._shortlist_rows, table, graph, pool, queries, cold, rng)
        if self.two_sided and self.objective == "binary":
            # Both orientations of every row: the B -> A half of a two-sided score then sees what it learnt.
            X, y = np.vstack([X, swap_sides(X)]), np.r_[y, y]
        settings = dict(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                        num_leaves=self.num_leaves, min_child_samples=self.min_child_samples, subsample=0.8,
                        subsample_freq=1, colsample_bytree=0.8, random_state=self.random_state,
                        n_jobs=self.n_jobs, verbose=-1)
        if self.objective == "lambdarank":
            self.booster_ = lgb.LGBMRanker(objective="lambdarank", **settings).fit(X, y, group=groups).booster_
        else:  # scores comparable across queries, which the B -> A half of a two-sided score needs
            self.booster_ = lgb.LGBMClassifier(objective="binary", **settings).fit(X, y).booster_
        self.trees_ = FlatTrees(self.booster_)
        self.training_rows_ = int(len(y))
        self.training_queries_ = int(len(groups))
        return self

    @staticmethod
    def _rows(rows_of_batch, table: CityTable, graph: Graph, pool: np.ndarray, queries: np.ndarray, cold: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """Training rows of `queries` (`rows_of_batch`: `_sampled_rows` or `_shortlist_rows`), in batches whose cold
        queries are hidden together in a graph of their own. A candidate hidden along with a query loses its
        partners too: small batches keep the graph the candidates are described by close to the one they meet in
        service (measured in `models/MODEL_CARD.md`)."""
        parts = []
        for start in range(0, len(queries), COLD_BATCH):
            batch, batch_cold = queries[start:start + COLD_BATCH], cold[start:start + COLD_BATCH]
            graphs = TrainingGraphs.hiding(table, graph, batch[batch_cold])
            parts.append(rows_of_batch(table, graphs, pool, batch, batch_cold, rng))
        return tuple(np.concatenate(arrays) for arrays in zip(*parts))

    def _fit_prefilter(self, X: np.ndarray, y: np.ndarray) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a column unknown everywhere: centre 0, scale 1
            center, spread = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
        self.center_ = np.nan_to_num(center)
        self.scale_ = np.where(spread > 0, spread, 1.0)
        # Where A has no partner, the A-side graph features are all 0 and the other features must carry the score:
        # weights of their own for those rows. Measured on seeds 0 and 1, 300 queries: cold recall@10 0.062 -> 0.065,
        # recall@50 0.159 -> 0.166, MRR 0.120 -> 0.124; warm recall@10 0.130 -> 0.133.
        rng = np.random.default_rng(self.random_state)
        without = np.flatnonzero(self.weight_set(_partner_counts(X)) == 0)
        self.prefilter_weights_ = np.stack([self._logistic(X, y, rows, rng) for rows in (without, np.arange(len(y)))])

    @staticmethod
    def weight_set(partners: np.ndarray | int) -> np.ndarray:
        """The prefilter's set of weights for a query city A with this many partners: 0 for none, 1 for some."""
        return (np.asarray(partners) > 0).astype(np.intp)

    def _logistic(self, X: np.ndarray, y: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Weights of a logistic regression on the standardised features of `rows` and their squares."""
        # A sample is enough for 110 weights: all 665k rows of the reference build took 19 s of L-BFGS.
        rows = rng.permutation(rows)[:PREFILTER_SAMPLE]
        z = self._standardised(X[rows])
        return LogisticRegression(C=1.0, max_iter=1000).fit(np.vstack([z, z * z]).T, y[rows]).coef_.ravel()

    def _standardised(self, features: np.ndarray) -> np.ndarray:
        """Features x rows, standardised, clipped to 5 deviations; unknown values at the mean (0)."""
        z = np.ascontiguousarray(features.T, dtype=np.float32) - self.center_[:, None].astype(np.float32)
        z *= (1 / self.scale_)[:, None].astype(np.float32)
        np.clip(z, -5, 5, out=z)
        z[np.isnan(z)] = 0
        return z

    def _sampled_rows(self, table: CityTable, graphs: TrainingGraphs, pool: np.ndarray, queries: np.ndarray,
                      cold: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The prefilter's rows: per query city its partners (positives) and sampled hard negatives."""
        side = table.side
        tree = BallTree(np.radians(np.c_[side.lat[pool], side.lon[pool]]), metric="haversine")
        popularity = graphs.full.degree[pool] + 1.0
        popularity /= popularity.sum()
        by_country = {c: pool[side.country[pool] == c] for c in np.unique(side.country[pool])}
        n = self.negatives
        rows, labels = [], []
        for start in range(0, len(queries), 512):
            batch, batch_cold = queries[start:start + 512], cold[start:start + 512]
            similar = np.argpartition(-(side.embedding[batch] @ side.embedding[pool].T), min(100, len(pool)) - 1,
                                      axis=1)[:, :100]
            nearest = tree.query(np.radians(np.c_[side.lat[batch], side.lon[batch]]), k=60,
                                 return_distance=False)
            for q, is_cold, near, alike in zip(batch, batch_cold, nearest, similar):
                partners = graphs.full.neighbours(q)
                partner_countries = np.unique(side.country[partners])
                picks = [rng.choice(pool, n.random), rng.choice(pool, n.popular, p=popularity),
                         rng.choice(pool[near], n.nearby), rng.choice(pool[alike], n.similar_text),
                         rng.choice(by_country.get(side.country[q], pool), n.same_country)]
                for country in rng.choice(partner_countries, n.partner_country):
                    picks.append(rng.choice(by_country.get(country, pool), 1))
                negatives = np.setdiff1d(np.concatenate(picks), np.r_[partners, q])
                features, is_positive = self._rows_of(table, graphs, q, partners, negatives, is_cold)
                rows.append(features)
                labels.append(is_positive.astype(int))
        return np.vstack(rows), np.concatenate(labels)

    def _shortlist_rows(self, table: CityTable, graphs: TrainingGraphs, pool: np.ndarray, queries: np.ndarray,
                        cold: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The trees' rows: per query city its partners, the non-partners the fitted prefilter scores highest (the
        shortlist the trees re-rank in service, drawn the way `Recommender.rank` draws it) and a few random ones.

        Measured on seed 0, 300 queries: trees fitted on sampled negatives were no better than the prefilter they
        re-rank (warm recall@10 0.120 against its 0.123; cold 0.060 against 0.052, MRR 0.113); fitted on its
        shortlists, they add to it (warm 0.129, cold 0.066, MRR 0.125). 300 trees of 31 leaves, or 4,000 queries,
        gave the same within the noise at up to twice the cost.

        A partner the prefilter ranks below `partner_reach` non-partners is left out: service never shortlists it, and
        the trees learnt from such partners what the shortlist does not hold. 38% of them have no other partner (10% of
        those kept, in one fit on seed 0's cold split), so the trees scored a partner-less city in a cold shortlist far
        too high: 4.0% on average, where 0.27% of them were targets (seeds 0-4, 300 queries). Measured in
        `models/MODEL_CARD.md`."""
        scorers = {is_cold: CatalogueScorer(table, graphs.of(is_cold), self) for is_cold in (False, True)}
        eligible = np.zeros(len(table.side.log_pop), bool)
        rows, labels, groups = [], [], []
        for q, is_cold in zip(queries, cold):
            partners = graphs.full.neighbours(q)
            eligible[pool] = True
            eligible[np.r_[partners, q]] = False
            candidates = np.flatnonzero(eligible)
            cheap = scorers[bool(is_cold)].shortlist_scores(table.query(q, graphs.of(is_cold)), candidates)
            best = top_indices(cheap, self.partner_reach)
            negatives = np.union1d(candidates[best[:self.shortlist]],
                                   rng.choice(candidates, self.negatives.random_for_trees))
            features, is_positive = self._rows_of(table, graphs, q, partners, negatives, is_cold)
            keep = ~is_positive | (self.prefilter_scores(features) >= cheap[best[-1]])
            rows.append(features[keep])
            labels.append(is_positive[keep].astype(int))
            groups.append(int(keep.sum()))
        return np.vstack(rows), np.concatenate(labels), np.array(groups)

    @staticmethod
    def _rows_of(table: CityTable, graphs: TrainingGraphs, q: int, partners: np.ndarray, negatives: np.ndarray,
                 is_cold: bool) -> tuple[np.ndarray, np.ndarray]:
        """Features of query city `q` with its partners and the negatives, and which rows are partners. A warm
        query's partners have their own edge taken out of their features. A cold query is described by the graph
        without its edges, and its rows leave out the candidates hidden with it: partner-less there, they would
        look like no city in service (seeds 0-4, 300 queries: cold recall@10 0.072 -> 0.074, MRR 0.133 -> 0.139)."""
        if is_cold:
            partners, negatives = partners[~graphs.hidden[partners]], negatives[~graphs.hidden[negatives]]
        graph = graphs.of(is_cold)
        candidates = np.r_[partners, negatives]
        is_positive = np.r_[np.ones(len(partners), bool), np.zeros(len(negatives), bool)]
        features = pair_features(table.query(q, graph), table.side, candidates, graph, table.countries,
                                 None if is_cold else is_positive)
        return features, is_positive

    # -- scoring ------------------------------------------------------------------------------------
    def prefilter_scores(self, features: np.ndarray) -> np.ndarray:
        """A cheap A -> B score (linear in the features and their squares), to shortlist the whole catalogue."""
        return self.prefilter_terms(features).sum(axis=1)

    def prefilter_terms(self, features: np.ndarray) -> np.ndarray:
        """Each feature's share of the prefilter score (rows x features): they sum to `prefilter_scores`. Each
        row takes the set of weights of its A (`weight_set`)."""
        z = self._standardised(features).T
        weights = self.prefilter_weights_.astype(np.float32)[self.weight_set(_partner_counts(features))]
        linear, square = np.split(weights, 2, axis=1)  # rows x features, each row its set's
        return z * (linear + square * z)

    def score(self, features: np.ndarray) -> np.ndarray:
        """Score of each row of A -> B features: the trees' logit plus the prefilter's, each the mean of both
        directions when two-sided.

        Adding the linear model's logit to the trees' was measured (seed 0, 300 queries): cold recall@10 0.050 ->
        0.053, recall@50 0.138 -> 0.152, MRR 0.102 -> 0.111; warm recall@50 0.201 -> 0.209, recall@10 0.120 ->
        0.118. Trees fitted on sampled negatives overreach where the linear model stays smooth."""
        if not self.two_sided:
            return self.trees_.raw_scores(features) + self.prefilter_scores(features)
        both = np.vstack([features, swap_sides(features)])
        total = self.trees_.raw_scores(both) + self.prefilter_scores(both)
        return (total[: len(features)] + total[len(features):]) / 2

    def contributions(self, features: np.ndarray) -> np.ndarray:
        """Per-feature contributions to the score (path attributions plus prefilter terms, A -> B feature
        order); with the trees' bias they add up to the score."""
        rows = np.vstack([features, swap_sides(features)]) if self.two_sided else features
        both = self.trees_.contributions(rows) + self.prefilter_terms(rows)  # one pass: per-call cost
        if not self.two_sided:
            return both
        forward, backward = both[: len(features)], both[len(features):]
        return (forward + backward[:, SWAP]) / 2  # SWAP is its own inverse: back to A -> B names

    def feature_importance(self) -> dict[str, float]:
        gains = self.booster_.feature_importance("gain")
        return dict(sorted(zip(FEATURES, (gains / gains.sum()).round(4).tolist()), key=lambda kv: -kv[1]))

    # -- persistence --------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        artefact = {"format": ARTEFACT_FORMAT, "matcher_version": __version__, "features": FEATURES,
                    "params": self._params(),
                    "training": {"rows": self.training_rows_, "queries": self.training_queries_},
                    "prefilter": {"center": self.center_.tolist(), "scale": self.scale_.tolist(),
                                  "weights": self.prefilter_weights_.tolist()},
                    "booster": self.booster_.model_to_string()}
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(artefact))
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> "PartnerRanker":
        artefact = json.loads(Path(path).read_text())
        if artefact.get("format") != ARTEFACT_FORMAT or artefact.get("features") != FEATURES:
            raise ValueError(f"{path}: a ranker of another version (format {artefact.get('format')}); "
                             "run `matcher train` again")
        params = dict(artefact["params"])
        params["negatives"] = Negatives(**params["negatives"])
        ranker = cls(**params)
        ranker.booster_ = lgb.Booster(model_str=artefact["booster"])
        ranker.trees_ = FlatTrees(ranker.booster_)
        prefilter = artefact["prefilter"]
        ranker.center_, ranker.scale_, ranker.prefilter_weights_ = (
            np.array(prefilter[key]) for key in ("center", "scale", "weights"))
        ranker.training_rows_ = artefact["training"]["rows"]
        ranker.training_queries_ = artefact["training"]["queries"]
        return ranker

    def _params(self) -> dict:
        params = {name: getattr(self, name) for name in ("objective", "two_sided", "n_estimators", "learning_rate",
                                                         "num_leaves", "min_child_samples", "max_queries",
                                                         "tree_queries", "cold_tree_queries", "shortlist",
                                                         "partner_reach", "cold_share", "random_state", "n_jobs")}
        params["negatives"] = self.negatives.__dict__
        return params


def _partner_counts(features: np.ndarray) -> np.ndarray:
    """A's number of partners in each row of pair features."""
    return as_count(features[:, DEGREE_A])


def top_indices(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n highest scores, best first."""
    if len(scores) > n:
        top = np.argpartition(-scores, n - 1)[:n]
        return top[np.argsort(-scores[top])]
    return np.argsort(-scores)


@dataclass
class TrainingGraphs:
    """The training graph, and the one cold queries are described by: without the edges of the `hidden` cities."""
    full: Graph
    cold: Graph
    hidden: np.ndarray  # bool per catalogue position

    @classmethod
    def hiding(cls, table: CityTable, graph: Graph, cities: np.ndarray) -> "TrainingGraphs":
        hidden = np.zeros(len(graph.degree), bool)
        hidden[cities] = True
        if not hidden.any():
            return cls(graph, graph, hidden)
        coo = graph.adjacency.tocoo()
        keep = (coo.row < coo.col) & ~hidden[coo.row] & ~hidden[coo.col]
        return cls(graph, table.graph_of_positions(coo.row[keep], coo.col[keep]), hidden)

    def of(self, is_cold: bool) -> Graph:
        return self.cold if is_cold else self.full
