"""Grouping speaker embeddings into speakers, with the number of speakers found automatically.

Agglomerative clustering (average linkage on cosine similarity) builds a tree; the tree is then
cut top-down. A group splits in two when its two halves are clearly less alike than each half is
inside: the mean similarity between them falls ``split_margin`` below the mean of their own
within-half similarities (or below ``always_split_below`` outright). Judging a split against the
spread inside the groups, rather than against one fixed similarity, keeps the rule working for
voices the encoder finds generally alike (same-sex, synthetic, far-field) and for those it finds
very different. Halves holding less than ``min_cluster_s`` of speech never found a speaker of their
own: a d-vector over a second or two is too noisy; they join the nearest speaker found.

A caller's ``num_speakers`` replaces the rule with a cut into that many groups;
``min_speakers``/``max_speakers`` bound the count the rule finds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

logger = logging.getLogger("tonescribe.clustering")


@dataclass(frozen=True)
class ClusterOptions:
    threshold: float = 0.65
    min_cluster_s: float = 2.0
    max_windows: int = 3000

    def __post_init__(self):
        if not -1 < self.threshold < 1:
            raise ValueError("the clustering threshold is a cosine similarity: pick a value between -1 and 1")
        if self.min_cluster_s < 0:
            raise ValueError("min_cluster_s cannot be negative")
        if self.max_windows < 2:
            raise ValueError("max_windows must be at least 2")


def unit(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-9)


def centroids_of(embeddings: np.ndarray, labels: np.ndarray, weights: Optional[np.ndarray] = None) -> np.ndarray:
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=np.float64)
    k = int(labels.max()) + 1 if labels.size else 0
    return np.stack([unit((embeddings[labels == c] * weights[labels == c, None]).sum(axis=0)) for c in range(k)])


def cluster_embeddings(
    embeddings: np.ndarray,
    *,
    durations_s: Sequence[float],
    options: ClusterOptions = ClusterOptions(),
    num_speakers: Optional[int] = None,
    min_speakers: Optional[int] = None,
    max_speakers: Optional[int] = None,
) -> np.ndarray:
    """Cluster label (0, 1, ...) per embedding row, numbered by first appearance."""
    from scipy.cluster.hierarchy import fcluster, linkage, to_tree

    n = len(embeddings)
    if n <= 1:
        return np.zeros(n, dtype=int)
    x = unit(np.asarray(embeddings, dtype=np.float64))
    durations = np.asarray(durations_s, dtype=np.float64)
    # very long recordings: build the tree on an even subset, then give every window its nearest speaker
    subset = np.linspace(0, n - 1, options.max_windows).round().astype(int) if n > options.max_windows else np.arange(n)
    xs, ds = x[subset], durations[subset] * (n / len(subset))
    tree = linkage(xs, method="average", metric="cosine")
    if num_speakers:
        labels = fcluster(tree, t=min(num_speakers, len(xs)), criterion="maxclust") - 1
    else:
        labels = _cut(to_tree(tree), xs, ds, options)
        k = len(np.unique(labels))
        if max_speakers and k > max_speakers:
            labels = fcluster(tree, t=max_speakers, criterion="maxclust") - 1
        elif min_speakers and k < min_speakers:
            labels = fcluster(tree, t=min(min_speakers, len(xs)), criterion="maxclust") - 1
    if len(subset) < n:
        labels = np.argmax(x @ centroids_of(xs, _renumber(labels), ds).T, axis=1)
    return _renumber(labels)


def _cut(root, x: np.ndarray, durations: np.ndarray, options: ClusterOptions) -> np.ndarray:
    """Top-down cut of the average-linkage tree by the split rule in the module docstring."""
    groups: list[list[int]] = []
    orphans: list[int] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_leaf():
            groups.append([node.id])
            continue
        left, right = node.get_left().pre_order(), node.get_right().pre_order()
        big_left = durations[left].sum() >= options.min_cluster_s
        big_right = durations[right].sum() >= options.min_cluster_s
        if big_left and big_right and _distinct(x[left], x[right], options):
            stack.extend([node.get_left(), node.get_right()])
        elif big_left != big_right:  # look for speakers inside the big half; the small one joins later
            stack.append(node.get_left() if big_left else node.get_right())
            orphans.extend(right if big_left else left)
        else:
            groups.append(node.pre_order())
    labels = np.full(len(x), -1)
    for c, members in enumerate(groups):
        labels[members] = c
    if orphans:
        cents = np.stack([unit(x[g].sum(axis=0)) for g in groups])
        labels[orphans] = np.argmax(x[orphans] @ cents.T, axis=1)
    return labels


def _distinct(a: np.ndarray, b: np.ndarray, options: ClusterOptions) -> bool:
    """Average-linkage similarity of the two halves (mean over all cross pairs) below the threshold."""
    between = float(a.sum(axis=0) @ b.sum(axis=0)) / (len(a) * len(b))
    return between < options.threshold


def _renumber(labels: np.ndarray) -> np.ndarray:
    order: dict[int, int] = {}
    for x in labels:
        order.setdefault(int(x), len(order))
    return np.array([order[int(x)] for x in labels], dtype=int)
