"""A segmenter's masks as files: `specc predict` writes, for each image, a PNG of its class ids and an
overlay of the image blended with a fixed colour per class.

    sample ─outputs→ (K, H, W) scores ─argmax→ mask ─┬→ NAME.mask.png     class ids, uint8 (16-bit above 256)
                                                     └→ NAME.overlay.png  the image 55%, the class colour 45%

NAME is the image file's stem (`cat.png` → `cat`), or the archive's and the
sample's index (`val.npz[3]` → `val-3`); a stem met twice gets `-2`, `-3`.
The colours are PASCAL VOC's palette (class 0 black, 1 dark red, 2 dark green,
...), the same for every run. Every file is written atomically
(:func:`specc.files.write_run_file`: a link in the folder is replaced, never
followed), and none is written while any would replace a file already there,
unless ``overwrite``.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import numpy as np

from ..errors import SpeccError
from ..files import kind, stat_of, write_run_file
from ..runtime.samples import Sample
from .answers import Segmentation, chunks, fractions_of, masks_of
from .predict import Loaded

ALPHA = 0.45  # the class colour's share of an overlay pixel


def palette(classes: int) -> np.ndarray:
    """(classes, 3) uint8 colours, PASCAL VOC's: the bits of the class id spread over R, G and B."""
    colours = np.zeros((classes, 3), np.uint8)
    for k in range(classes):
        c, r, g, b = k, 0, 0, 0
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        colours[k] = (r, g, b)
    return colours


def rgb(image: np.ndarray) -> np.ndarray:
    """(H, W, C) float samples as (H, W, 3) uint8: gray repeated, RGBA's alpha dropped, another channel count
    shown by its first channel; values in [0, 1] as pixels, any other range stretched to it."""
    x = image[..., :3] if image.shape[-1] in (3, 4) else np.repeat(image[..., :1], 3, axis=-1)
    low, high = float(x.min()), float(x.max())
    if low < 0 or high > 1:
        x = (x - low) / (high - low) if high > low else np.zeros_like(x)
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def overlay(image: np.ndarray, mask: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """The image blended with each pixel's class colour: (H, W, 3) uint8."""
    blended = (1 - ALPHA) * rgb(image).astype(np.float64) + ALPHA * colours[mask].astype(np.float64)
    return np.round(blended).astype(np.uint8)


def stems(names: list[str]) -> list[str]:
    """A file stem per sample, unique: `cat.png` → `cat`, `val.npz[3]` → `val-3`."""
    found: dict[str, int] = {}
    out = []
    for name in names:
        index = re.fullmatch(r"(.*)\[(\d+)\]", name)
        stem = f"{Path(index[1]).stem}-{index[2]}" if index else Path(name).stem
        stem = stem.strip(". ") or "sample"
        found[stem] = found.get(stem, 0) + 1
        out.append(stem if found[stem] == 1 else f"{stem}-{found[stem]}")
    return out


def targets(folder: Path, names: list[str], overwrite: bool) -> list[tuple[Path, Path]]:
    """The (mask, overlay) files of each sample in ``folder`` (created); refused before anything is written
    where one would replace a file, unless ``overwrite``."""
    found = stat_of(folder)
    if found is not None and not stat.S_ISDIR(found.st_mode):
        raise SpeccError(f"--out '{folder}' is {kind(found)}, not a folder", 2)
    files = [(folder / f"{s}.mask.png", folder / f"{s}.overlay.png") for s in stems(names)]
    taken = [p for pair in files for p in pair if stat_of(p) is not None]
    if taken and not overwrite:
        more = f" (and {len(taken) - 1} more of the files)" if len(taken) > 1 else ""
        raise SpeccError(f"'{taken[0]}' already exists{more}; nothing was written. Choose another folder with "
                         f"--out DIR, or pass --overwrite to replace them", 2)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpeccError(f"cannot make the folder '{folder}': {exc.strerror or exc}", 2) from exc
    return files


def save_png(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    write_run_file(path.parent, path.name, lambda handle: Image.fromarray(pixels).save(handle, format="PNG"))


def write_masks(model: Loaded, samples: list[Sample], folder: Path, overwrite: bool = False) -> Segmentation:
    """Each sample's mask and overlay PNGs in ``folder``; the pixel fractions, the files (masks not kept:
    memory stays bounded however many images)."""
    files = targets(folder, [s.name for s in samples], overwrite)
    fractions, done = [], 0
    for batch, scores in chunks(model, samples):
        masks = masks_of(scores)
        colours = palette(scores.shape[1])
        for sample, mask in zip(batch, masks):
            mask_file, overlay_file = files[done]
            save_png(mask_file, mask if mask.dtype == np.uint8 else mask.astype(np.uint16))
            save_png(overlay_file, overlay(_image(sample), mask, colours))
            done += 1
        fractions.append(fractions_of(masks, scores.shape[1]))
    classes = fractions[0].shape[1] if fractions else 0
    return Segmentation([s.name for s in samples], None, np.concatenate(fractions) if fractions else
                        np.zeros((0, classes)), model.class_names, [(str(m), str(o)) for m, o in files])


def _image(sample: Sample) -> np.ndarray:
    """The sample's image (a segmenter of several inputs: its first)."""
    return sample.x[0] if isinstance(sample.x, tuple) else sample.x
