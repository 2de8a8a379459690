"""The colours of class ids in masks: one fixed palette, so that a class has the same colour in every
picture specc draws of it (`specc train`'s and `specc val`'s segmentation grids, predict's overlays).
Pure numpy: no torch, no matplotlib.

Class 0 (the background of most data sets) is black; classes 1 to 20 take matplotlib's tab10 colours,
then their light variants (tab20's); beyond that, hues spaced by the golden angle, at two brightnesses.
"""

from __future__ import annotations

import colorsys

import numpy as np

FIXED = ("000000",
         "1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd", "8c564b", "e377c2", "7f7f7f", "bcbd22", "17becf",
         "aec7e8", "ffbb78", "98df8a", "ff9896", "c5b0d5", "c49c94", "f7b6d2", "c7c7c7", "dbdb8d", "9edae5")
GOLDEN = 0.6180339887498949  # the share of the hue circle between two generated colours


def palette(classes: int) -> np.ndarray:
    """(classes, 3) uint8 RGB, the same for every caller: class k's colour never depends on how many follow."""
    colours = [tuple(int(c[i:i + 2], 16) for i in (0, 2, 4)) for c in FIXED[:classes]]
    for k in range(len(FIXED), classes):
        r, g, b = colorsys.hsv_to_rgb((k * GOLDEN) % 1.0, 0.75, 0.95 if k % 2 else 0.7)
        colours.append((round(r * 255), round(g * 255), round(b * 255)))
    return np.asarray(colours, dtype=np.uint8).reshape(classes, 3)


def coloured(mask: np.ndarray, classes: int) -> np.ndarray:
    """A mask of class ids (..., H, W) as RGB (..., H, W, 3) uint8, in the palette's colours."""
    return palette(max(classes, int(mask.max(initial=0)) + 1))[mask]
