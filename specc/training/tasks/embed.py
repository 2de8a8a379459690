"""embed: an encoding in which the same identity is near and different ones far (spec-tasks §1),
the course's face verification (course 4, week 4), in its two forms:

- a one-input encoder ending in a vector of D numbers, trained with the triplet
  loss max(‖f(A)−f(P)‖² − ‖f(A)−f(N)‖² + α, 0) between L2-normalised encodings
  (FaceNet's, α = `margin=`, the course's 0.2). Triplets are mined in each
  mini-batch, "batch hard" (Hermans et al., 2017): every sample is an anchor,
  with the farthest sample of its identity as positive and the nearest of
  another identity as negative; an anchor without both in its batch adds nothing.
- a two-input network (contract part 3: `a: input`, `b: input`, a shared
  encoder) ending in one sigmoid unit: binary cross-entropy on pairs, half of
  the same identity and half of different ones (the course's "face
  verification as binary classification"). The pairs are drawn once from the
  seed: every sample with one partner of its identity and one of another.

The data are classification data whose classes are identities. Validation
pairs are drawn the same way from the held-out samples (half same, half
different); the metrics are the verification accuracy at the best threshold
on those pairs, its threshold (an L2 distance between normalised encodings, or
the pair network's probability), and the ROC AUC (scikit-learn's
``roc_auc_score`` on the same pairs gives the same number).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import SpeccError
from ...numbers import dims
from . import Task, scores_of


class Embed(Task):
    name = "embed"
    losses = ("triplet", "bce")
    val_columns = ("acc", "auc", "threshold")
    curve = "auc"  # the metric curves.png draws beside the loss
    monitor, higher = "val_auc", True
    collects = True  # validation needs every held-out sample's output at once (pairs across batches)

    @classmethod
    def unfit(cls, io) -> str | None:
        if pair(io):
            return None
        if io.inputs:
            shapes = {tuple(e.shape) for e in io.inputs}
            if len(io.inputs) != 2 or len(shapes) != 1:
                found = ", ".join(f"{e.name} {dims(e.shape)}" for e in io.inputs)
                return f"it has {len(io.inputs)} inputs ({found}): a pair network takes two images of one shape"
            return (f"its output is {dims(io.output)} (line {io.output_line}): a pair network ends in one sigmoid "
                    f"unit (same identity: 1), e.g. `fc 1 sigmoid`")
        if scores_of(io) is None:
            return f"its output is {dims(io.output)} (line {io.output_line}), not an encoding (a vector, or a 1x1 map)"
        return None

    @classmethod
    def usable_losses(cls, io) -> tuple[str, ...]:
        return ("bce",) if pair(io) else ("triplet",)

    @property
    def pairs(self) -> bool:
        return pair(self.io)

    @property
    def reads_logits(self) -> bool:  # type: ignore[override]  # the pair network's logit; an encoder's output
        return self.pairs

    def targets(self, y: np.ndarray, what: str) -> np.ndarray:
        from ..sources import labels

        return labels(y, what)

    def check_targets(self, ys: Sequence[np.ndarray], class_names: list[str] | None) -> None:
        y = ys[0]
        counts = np.bincount(y) if y.size else np.zeros(0, dtype=np.int64)
        if int((counts > 0).sum()) < 2:
            raise SpeccError("the data hold fewer than 2 identities (classes); an embedding learns to tell "
                             "identities apart")
        if not (counts >= 2).any():
            raise SpeccError("no identity has 2 samples; pairs of the same identity need at least 2 of one")

    def arrange(self, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[tuple[np.ndarray, np.ndarray] | np.ndarray,
                                                                         np.ndarray]:
        """A pair network's samples: (a, b) images and same (1) / different (0); an encoder's stay as they are."""
        if not self.pairs:
            return x, y
        first, second, same = draw_pairs(y, seed)
        return (x[first], x[second]), same

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.pairs:
            return F.binary_cross_entropy_with_logits(out.float().flatten(1)[:, 0], y.float())
        return batch_hard_triplet(out.float().flatten(1), y, self.margin)

    def evaluate(self, outs: torch.Tensor, y: torch.Tensor, seed: int = 0) -> dict[str, float]:
        """Verification on held-out pairs from every held-out output at once."""
        scores, same = self.pair_scores(outs, y, seed)
        return verification(scores, same, higher_is_same=self.pairs)

    def report(self, sums, count, outs, y, names):
        assert outs is not None  # collects: validate keeps every output
        scores, same = self.pair_scores(outs, y)
        found = verification(scores, same, higher_is_same=self.pairs)
        return {"accuracy": found["acc"], "auc": found["auc"], "threshold": found["threshold"],
                "pairs": len(same), "same_pairs": int(same.sum())}, []

    def pair_scores(self, outs: torch.Tensor, y: torch.Tensor, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(score, same) of each held-out pair: the pair network's probability, or the encodings' L2 distance."""
        if self.pairs:
            return torch.sigmoid(outs.float().flatten(1)[:, 0]).numpy(), y.numpy().astype(bool)
        first, second, same = draw_pairs(y.numpy(), seed)
        e = F.normalize(outs.float().flatten(1), dim=1)
        return (e[first] - e[second]).norm(dim=1).numpy(), same.astype(bool)

    def shown(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return (), ("acc", "auc")

    def describe(self) -> str:
        if self.pairs:
            return "loss bce on pairs (half same identity, half different)"
        return f"loss triplet (margin {self.margin:g}, batch-hard mining), L2-normalised encodings"


def pair(io) -> bool:
    """Two inputs of one shape and one sigmoid unit: a Siamese pair network."""
    return (len(io.inputs) == 2 and tuple(io.inputs[0].shape) == tuple(io.inputs[1].shape)
            and io.final == "sigmoid" and scores_of(io) == 1)


def draw_pairs(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every sample with one partner of its identity and one of another, drawn from ``seed``:
    (first, second, same) index arrays, half same and half different. A sample whose identity has no
    other sample takes only the different partner."""
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    by_class = {int(c): np.flatnonzero(y == c) for c in np.unique(y)}
    first, second, same = [], [], []
    for i, c in enumerate(y.tolist()):
        mates = by_class[c][by_class[c] != i]
        for partners, is_same in ((mates, 1), (np.flatnonzero(y != c), 0)):
            if len(partners):
                first.append(i)
                second.append(int(rng.choice(partners)))
                same.append(is_same)
    return np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64), np.asarray(same, dtype=np.int64)


def batch_hard_triplet(out: torch.Tensor, y: torch.Tensor, margin: float) -> torch.Tensor:
    """The mean triplet loss over a batch's anchors, each with its hardest positive and negative."""
    e = F.normalize(out, dim=1)
    d = torch.cdist(e, e).pow(2)  # squared L2 distances, as FaceNet's loss
    same = y[:, None] == y[None, :]
    eye = torch.eye(len(y), dtype=torch.bool, device=y.device)
    positive, negative = same & ~eye, ~same
    valid = positive.any(1) & negative.any(1)
    if not valid.any():
        return out.sum() * 0.0  # nothing to learn from this batch; keeps the graph for backward
    hardest_positive = d.masked_fill(~positive, -math.inf).amax(1)
    hardest_negative = d.masked_fill(~negative, math.inf).amin(1)
    return F.relu(hardest_positive - hardest_negative + margin)[valid].mean()


def verification(scores: np.ndarray, same: np.ndarray, higher_is_same: bool) -> dict[str, float]:
    """Accuracy at the best threshold, that threshold, and the ROC AUC of telling same pairs from different.

    ``scores``: a pair network's probability (higher: same) or a distance (lower: same). The threshold
    is the midpoint between the two scores it falls between; a pair is "same" at a distance below it
    (or a probability above it)."""
    scores, same = np.asarray(scores, dtype=np.float64), np.asarray(same, dtype=bool)
    n = len(scores)
    if n == 0 or same.all() or not same.any():
        return {"acc": math.nan, "auc": math.nan, "threshold": math.nan}
    s = scores if higher_is_same else -scores  # higher: more likely the same
    order = np.argsort(-s, kind="stable")
    ranked, truth = s[order], same[order]
    # calling the first k pairs "same" (k = 0..n): right = same ones among them + different ones after them
    right = np.concatenate([[0], np.cumsum(truth)]) + (int((~same).sum()) - np.concatenate([[0], np.cumsum(~truth)]))
    cuts = np.concatenate([[True], ranked[1:] != ranked[:-1], [True]])  # only between different scores
    right = np.where(cuts, right, -1)
    k = int(np.argmax(right))
    if k == 0:
        cut = ranked[0] + 1.0
    elif k == n:
        cut = ranked[-1] - 1.0
    else:
        cut = (ranked[k - 1] + ranked[k]) / 2
    return {"acc": float(right[k]) / n, "auc": auc(s, same), "threshold": float(cut if higher_is_same else -cut)}


def auc(s: np.ndarray, same: np.ndarray) -> float:
    """The ROC AUC: the chance that a same pair scores above a different one (ties count half)."""
    from scipy.stats import rankdata  # type: ignore[import-untyped]  # scikit-learn's dependency

    ranks = rankdata(s)
    positives, negatives = int(same.sum()), int((~same).sum())
    return float((ranks[same].sum() - positives * (positives + 1) / 2) / (positives * negatives))
