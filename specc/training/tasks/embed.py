"""embed: an encoding in which the same identity is near and different ones far (spec-tasks §1),
the course's face verification (course 4, week 4), in its two forms:

- a one-input encoder ending in a vector of D numbers, trained with the triplet
  loss max(‖f(A)−f(P)‖² − ‖f(A)−f(N)‖² + α, 0) between L2-normalised encodings
  (FaceNet's, α = `margin=`, the course's 0.2). Triplets are mined in each
  mini-batch, "semi-hard" as FaceNet mines them (Schroff et al., 2015, §3.2):
  every pair of one identity in the batch is an anchor and its positive, with
  the nearest negative that is farther from the anchor than the positive (where
  every negative is nearer, the farthest one); the loss is the mean over those
  pairs. Batch-hard mining (each anchor's farthest positive and nearest
  negative) collapses from a random start: every encoding moves to one point,
  the loss sits at α and only slowly leaves it; docs/train.md has the numbers.
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
``roc_auc_score`` on the same pairs gives the same number). :func:`pair_scores`
and :func:`verification` are the one definition of the distance and the
threshold: `specc predict` reads them from here.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import SpeccError
from ...numbers import dims
from ..inputs import Inputs, each, mapped, samples
from . import Task, scores_of

PICTURE = "embedding.png"  # the held-out pairs' distances and the ROC curve (`specc val`: val-embedding.png)


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
    def draws_pairs(self) -> bool:
        return self.pairs

    @property
    def reads_logits(self) -> bool:  # type: ignore[override]  # the pair network's logit; an encoder's output
        return self.pairs

    def targets(self, y: np.ndarray, what: str) -> np.ndarray:
        """Class labels, the identities: two of them at least, one twice (pairs of both kinds)."""
        from ..sources import labels

        y = labels(y, what)
        validation = what.endswith("y_val")
        who = {"y": "the data", "y_val": "the validation set"}.get(what, what)
        check_part(y, who, validation, "give a validation set with 2 or more samples of some identities"
                   if validation else "give 2 or more samples of some identities")
        return y

    def arrange(self, x: np.ndarray, y: np.ndarray, seed: int, part: str = "") -> tuple[
            tuple[np.ndarray, np.ndarray] | np.ndarray, np.ndarray]:
        """A pair network's samples: (a, b) images and same (1) / different (0); an encoder's stay as they are.

        ``part`` (the training or the validation samples of a split, in words) must give pairs of both kinds:
        what the encoder learns from, or what verification is measured on (check_part)."""
        if part:  # a split's part: the source's whole sets passed targets()
            validation = part.startswith("validation")
            check_part(y, f"the {part}", validation, "hold out more with --val, or give 2 or more samples of more "
                       "identities" if validation else "give 2 or more samples of more identities")
        if not self.pairs:
            return x, y
        first, second, same = draw_pairs(y, seed)
        return (x[first], x[second]), same

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.pairs:
            return F.binary_cross_entropy_with_logits(out.float().flatten(1)[:, 0], y.float())
        return semi_hard_triplet(out.float().flatten(1), y, self.margin)

    def evaluate(self, outs: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """Verification on held-out pairs from every held-out output at once."""
        scores, same = self.pair_scores(outs, y)
        return verification(scores, same, higher_is_same=self.pairs)

    def report(self, sums, count, outs, y, names):
        assert outs is not None  # collects: validate keeps every output
        scores, same = self.pair_scores(outs, y)
        found = verification(scores, same, higher_is_same=self.pairs)
        return {"accuracy": found["acc"], "auc": found["auc"], "threshold": found["threshold"]}, \
            self.rows(scores, same, found["threshold"])

    def rows(self, scores: np.ndarray, same: np.ndarray, threshold: float) -> list[dict]:
        """`specc val`'s row per kind of pair: how many, their mean distance (or probability), and the share
        the threshold gets right (same pairs accepted, different ones rejected)."""
        mean = "mean_probability" if self.pairs else "mean_distance"
        rows = []
        for kind, these in (("same", same), ("different", ~same)):
            said_same = scores[these] > threshold if self.pairs else scores[these] < threshold
            right = said_same if kind == "same" else ~said_same
            rows.append({"pairs": kind, "count": int(these.sum()),
                         mean: float(scores[these].mean()) if these.any() else math.nan,
                         "accuracy": float(right.mean()) if these.any() else math.nan})
        return rows

    def review(self, net, x, y, names, folder, title, prefix=""):
        """The held-out pairs' distances (or probabilities), same and different, with the threshold; the ROC
        curve: embedding.png."""
        from ..plots import plot_verification

        scores, same = self.pair_scores(outputs(net, x, self.reads_logits), y.cpu())
        found = verification(scores, same, higher_is_same=self.pairs)
        fpr, tpr = roc(scores if self.pairs else -scores, same)
        path = folder / f"{prefix}{PICTURE}"
        plot_verification(scores, same, found, (fpr, tpr), self.pairs, path, title)
        return [path]

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
        return f"loss triplet (margin {self.margin:g}, semi-hard triplets in each batch), L2-normalised encodings"


def check_part(y: np.ndarray, who: str, validation: bool, more: str) -> None:
    """Labels that give pairs of both kinds: two identities, one of them twice. ``who``: the labels in words
    (a file's `y`, the validation samples), ``validation``: verified on, not learnt from; ``more``: the remedy
    for too few of one identity."""
    counts = np.bincount(y) if y.size else np.zeros(0, dtype=np.int64)
    identities, purpose = int((counts > 0).sum()), "verify on" if validation else "learn from"
    if identities < 2:
        raise SpeccError(f"{who}: {identities} identit{'y' if identities == 1 else 'ies'} ({len(y):,} samples), so no "
                         f"pair of different identities to {purpose}; give samples of 2 or more identities (the "
                         f"classes are the identities)")
    if not (counts >= 2).any():
        raise SpeccError(f"{who}: no identity twice ({len(y):,} samples of {identities:,} identities), so no pair of "
                         f"the same identity to {purpose}; {more}")


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


def semi_hard_triplet(out: torch.Tensor, y: torch.Tensor, margin: float) -> torch.Tensor:
    """FaceNet's triplet loss with semi-hard negatives, mined in a batch: the mean over every (anchor, positive)
    pair of one identity of max(d(a, p) − d(a, n) + margin, 0), d the squared distance between L2-normalised
    encodings and n the nearest negative farther from a than p (where none is, the farthest negative).
    Anchors without a positive and a negative in the batch add nothing.

    The choice of n is made without gradient (a sort and a search per anchor, O(N² log N), never N³); backward
    keeps per pair the distances, the chosen columns, the pairs' mask and the hinge (specc check --batch counts
    them: specc.infer.training_memory)."""
    e = F.normalize(out, dim=1)
    d = 2 - 2 * e @ e.T  # ‖u − v‖² = 2 − 2 u·v for unit vectors
    same = y[:, None] == y[None, :]
    negative = ~same
    pairs = same & ~torch.eye(len(y), dtype=torch.bool, device=y.device) & negative.any(1, keepdim=True)
    if not pairs.any():
        return out.sum() * 0.0  # nothing to learn from this batch; keeps the graph for backward
    with torch.no_grad():
        ranked, order = d.masked_fill(~negative, math.inf).sort(dim=1)  # each anchor's negatives, nearest first
        count = negative.sum(1, keepdim=True)
        farther = torch.searchsorted(ranked, d.contiguous(), right=True)  # the first negative beyond p
        column = order.gather(1, torch.where(farther < count, farther, count - 1).clamp_min(0))
    hinge = (d - d.gather(1, column) + margin).masked_fill(~pairs, 0.0)
    return F.relu(hinge).sum() / pairs.sum()


def outputs(net: torch.nn.Module, x: Inputs, logits: bool, batch: int = 256) -> torch.Tensor:
    """The module's outputs (``logits``: its scores before the final activation) for every sample, in eval mode
    on its own device, as float32 on the CPU."""
    was_training = net.training
    net.eval()
    device = next(net.parameters(), torch.empty(0)).device
    found = []
    try:
        with torch.no_grad():
            for start in range(0, samples(x), batch):
                part = each(mapped(x, lambda t: t[start:start + batch].to(device)))  # noqa: B023 -- used at once
                found.append((net.logits(*part) if logits else net(*part)).float().cpu())  # type: ignore[operator]
    finally:
        net.train(was_training)
    return torch.cat(found) if found else torch.zeros(0)


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


def roc(s: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ROC curve of telling same pairs (higher ``s``) from different: (false, true) positive rates at every
    distinct threshold, from (0, 0) (scikit-learn's ``roc_curve(drop_intermediate=False)``)."""
    s, same = np.asarray(s, dtype=np.float64), np.asarray(same, dtype=bool)
    order = np.argsort(-s, kind="stable")
    ranked, truth = s[order], same[order]
    last = np.concatenate([ranked[1:] != ranked[:-1], [True]]) if len(s) else np.zeros(0, dtype=bool)
    tp, fp = np.cumsum(truth)[last], np.cumsum(~truth)[last]
    rate = lambda n: n / n[-1] if len(n) and n[-1] else np.full(len(n), math.nan)  # noqa: E731
    return np.concatenate([[0.0], rate(fp)]), np.concatenate([[0.0], rate(tp)])
