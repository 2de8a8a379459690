"""segment: a class for every pixel (spec-tasks §1): the course's U-Net on CameraRGB/CameraMask.

The spec's output is an HxWxK map of the input's H and W (a score per class and
pixel); the targets are masks of class ids, (N, H, W). Loss: per-pixel
cross-entropy. Metrics from the epoch's pixel confusion matrix: pixel accuracy,
and on validation the intersection over union of each class and their mean
(mIoU) over the classes present in the truth or the prediction (scikit-learn's
``jaccard_score(average="macro")`` on the pixels). Its picture, segmentation.png: a few
held-out images with their true and predicted masks, in specc.runtime.palette's colours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import SpeccError
from ...infer.tasks import segments
from ...numbers import dims
from . import Task, confusion, ratio

SEGMENTATION = "segmentation.png"
SHOWN = 4  # held-out samples in the picture, spread evenly over the held-out set


class Segment(Task):
    name = "segment"
    losses = ("ce",)
    train_columns = ("acc",)
    val_columns = ("acc", "miou")
    curve = "miou"  # the metric curves.png draws beside the loss
    monitor, higher = "val_miou", True

    @classmethod
    def unfit(cls, io) -> str | None:
        out, shape = io.output, io.shape
        if not segments(out, shape) and (len(out) != 3 or len(shape) != 3 or out[:2] != shape[:2]):
            return (f"its output is {dims(out)} (line {io.output_line}), not a map of the input's height and width "
                    f"({dims(shape[:2]) if len(shape) == 3 else dims(shape)}) with a score per class")
        if out[2] < 2:
            return (f"its output {dims(out)} has one channel; a segmenter scores every class at every pixel "
                    f"(K ≥ 2 channels, background included)")
        return None

    @property
    def classes(self) -> int:
        return self.io.output[2]

    def targets(self, y: np.ndarray, what: str) -> np.ndarray:
        y = np.asarray(y)
        h, w = self.io.output[:2]
        if y.ndim == 4 and y.shape[-1] in (1, 3, 4):
            y = y[..., 0]  # a mask image's first channel is its class id (the course's CameraMask)
        if y.ndim != 3 or y.shape[1:] != (h, w):
            raise SpeccError(f"{what} has shape {dims(y.shape)}; masks are N×{h}×{w} class ids, the size of the "
                             f"spec's output {dims(self.io.output)} (line {self.io.output_line})")
        if np.issubdtype(y.dtype, np.floating):
            if not np.all(np.isfinite(y)) or not np.all(np.mod(y, 1) == 0):
                raise SpeccError(f"{what} holds values that are not whole numbers; a mask holds class ids")
        elif not np.issubdtype(y.dtype, np.integer):
            raise SpeccError(f"{what} has dtype {y.dtype}; a mask holds integer class ids")
        if y.size and y.min() < 0:
            raise SpeccError(f"{what} has a negative class id ({int(y.min())}); class ids count from 0")
        return y.astype(np.int64)

    def check_targets(self, ys: Sequence[np.ndarray], class_names: list[str] | None) -> None:
        for y in ys:
            if y.size and int(y.max()) >= self.classes:
                sample = int(np.argwhere(y >= self.classes)[0][0])
                raise SpeccError(f"a mask holds class id {int(y.max())} (the first in sample {sample}), but the spec "
                                 f"scores {self.classes} classes (0..{self.classes - 1}, line {self.io.output_line})")
        if class_names and len(class_names) != self.classes:  # [] is no names: `specc val` on a test set
            names = ", ".join(class_names[:6]) + (", ..." if len(class_names) > 6 else "")
            raise SpeccError(f"the data names {len(class_names)} classes ({names}) but the spec scores "
                             f"{self.classes} (line {self.io.output_line})")

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out.float(), y)  # (N, K, H, W) against (N, H, W)

    @property
    def width(self) -> int:
        return self.classes * self.classes

    def sums(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return confusion(out.argmax(1), y, self.classes)

    def metrics(self, sums: Sequence[float], count: float) -> dict[str, float]:
        matrix = np.asarray(sums, dtype=np.float64).reshape(self.classes, self.classes)
        pixels = float(matrix.sum())
        return {"acc": ratio(float(np.trace(matrix)), pixels) if pixels else math.nan, "miou": mean_iou(matrix)}

    def report(self, sums, count, outs, y, names):
        matrix = np.asarray(sums, dtype=np.float64).reshape(self.classes, self.classes)
        ious = iou(matrix)
        rows = [{"class": k, "name": names[k] if names and k < len(names) else str(k), "pixels": int(matrix[k].sum()),
                 "predicted": int(matrix[:, k].sum()), "iou": ious[k]} for k in range(self.classes)]
        pixels = float(matrix.sum())
        return {"pixel_accuracy": ratio(float(np.trace(matrix)), pixels) if pixels else math.nan,
                "miou": mean_iou(matrix)}, rows

    def describe(self) -> str:
        return f"loss {self.loss_name} per pixel, {self.classes} classes"

    @torch.no_grad()
    def review(self, net, x, y, names, folder, title, prefix=""):
        """segmentation.png: image, truth and prediction of a few held-out samples (one input of images)."""
        from ...runtime.palette import palette
        from ..plots import plot_segmentation

        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] not in (1, 3, 4) or not len(x):
            return []
        pick = torch.from_numpy(np.unique(np.linspace(0, len(x) - 1, min(SHOWN, len(x))).round().astype(np.int64)))
        was_training = net.training
        net.eval()
        try:
            device = next(net.parameters(), torch.empty(0)).device
            predicted = net(x[pick].to(device)).argmax(1).cpu().numpy()  # (n, H, W)
        finally:
            net.train(was_training)
        labels = names if names and len(names) == self.classes else [str(k) for k in range(self.classes)]
        path = folder / f"{prefix}{SEGMENTATION}"
        plot_segmentation(x[pick].float().cpu().numpy(), y[pick].cpu().numpy(), predicted, labels,
                          palette(self.classes), path, title)
        return [path]


def iou(matrix: np.ndarray) -> list[float | None]:
    """Each class's intersection over union from a (K, K) pixel confusion matrix; None where the class is
    neither in the truth nor in the prediction."""
    out: list[float | None] = []
    for k in range(len(matrix)):
        union = float(matrix[k].sum() + matrix[:, k].sum() - matrix[k, k])
        out.append(float(matrix[k, k]) / union if union else None)
    return out


def mean_iou(matrix: np.ndarray) -> float:
    found = [v for v in iou(matrix) if v is not None]
    return sum(found) / len(found) if found else math.nan
