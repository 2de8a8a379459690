"""A segmenter's data (spec-tasks §1): images with their masks from a folder, or synthetic shapes.

  FOLDER/images/NAME.png    an image (PNG, JPEG, BMP), scaled as class folders' images are: pixels / 255
  FOLDER/masks/NAME.png     its mask, paired by NAME (the file name without its suffix): each pixel's value
                            (its first channel; a palette image's index) is that pixel's class id
  FOLDER/train/, FOLDER/val/  (or valid/, validation/) each laid out so: a validation set given
  FOLDER/classes.txt        optional: the class names, one a line, in class-id order

The course's folders, CameraRGB/ and CameraMask/, are read as images/ and masks/. Every file is
checked as it is read, and the first mismatch refuses the data with a message naming the file (or
the unpaired stems), what was found and the spec's line: an image without a mask or a mask without
an image, a mask of another size than the spec's output, a class id the spec does not score, an
image of another size than the spec's input. ``--resize`` scales images bilinearly and masks by
nearest neighbour (a class id is never blended with its neighbour's).

`--data synthetic[:N]` for a segmenter draws ellipses and rectangles of the classes 1..K-1 on
background 0, each class in its own colour plus noise: learnable in seconds, for tests and demos.

Reads with numpy and pillow, never torch; returns :class:`Segments`, which specc.training.sources
(its only caller) makes its Data of.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SpeccError
from ..files import kind, stat_of
from ..numbers import dims
from ..runtime.samples import IMAGE_SUFFIXES, MODES, pixels

IMAGES, MASKS = ("images", "CameraRGB"), ("masks", "CameraMask")  # the layout's names, then the course's
VALIDATION = ("val", "valid", "validation")  # as class folders name theirs
NAMES = "classes.txt"
SCALING = "pixels divided by 255, to [0, 1]"


@dataclass(frozen=True)
class Target:
    """What the spec asks of a segmenter's data, with the line to cite."""

    shape: tuple[int, ...]  # the spec's input, (H, W, C)
    output: tuple[int, ...]  # the spec's output, (H, W, K)
    line: int  # the output's line
    resize: bool = False

    @property
    def classes(self) -> int:
        return self.output[-1]


@dataclass(frozen=True)
class Segments:
    x: np.ndarray  # (N, H, W, C) float32
    y: np.ndarray  # (N, H, W) class ids
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    class_names: list[str] | None = None
    scaling: str = SCALING


# Folders
def folder(root: Path, target: Target) -> Segments:
    """images/ and masks/ paired by stem (or train/ and val/ each so), every pair checked as it is read."""
    mode = MODES.get(target.shape[-1]) if len(target.shape) == 3 else None
    if mode is None or len(target.output) != 3:
        raise SpeccError(f"a folder of images and masks gives 1 (grayscale), 3 (RGB) or 4 (RGBA) channels, but "
                         f"the spec's input is {dims(target.shape)}")
    train, val = _parts(root)
    x, y = _read(train, target, mode)
    x_val, y_val = _read(val, target, mode) if val is not None else (None, None)
    return Segments(x, y, x_val, y_val, _class_names(root, target))


def _pair_of(where: Path) -> tuple[Path, Path] | None:
    """A folder's images/ and masks/ (or the course's CameraRGB/ and CameraMask/), when it has both."""
    images = next((where / n for n in IMAGES if (where / n).is_dir()), None)
    masks = next((where / n for n in MASKS if (where / n).is_dir()), None)
    return (images, masks) if images is not None and masks is not None else None


def _parts(root: Path) -> tuple[tuple[Path, Path], tuple[Path, Path] | None]:
    """The training pair of folders, and the validation pair when the data gives one."""
    whole = _pair_of(root)
    if whole is not None:
        return whole, None
    train = _pair_of(root / "train")
    if train is None:
        raise SpeccError(f"--data '{root}': a segmenter (task segment) reads a folder holding `images/` and "
                         f"`masks/` (the course's `CameraRGB/` and `CameraMask/`), files paired by name, or `train/` "
                         f"and `val/` folders each laid out so; '{root}' holds {_listing(root)}", 2)
    for name in VALIDATION:
        if (root / name).is_dir():
            val = _pair_of(root / name)
            if val is None:
                raise SpeccError(f"'{root / name}' holds {_listing(root / name)}; a validation folder holds "
                                 f"`images/` and `masks/` as '{root / 'train'}' does", 2)
            return train, val
    return train, None


def _listing(where: Path) -> str:
    try:
        found = sorted(p.name + ("/" if p.is_dir() else "") for p in where.iterdir() if not p.name.startswith("."))
    except OSError as exc:
        raise SpeccError(f"cannot read folder '{where}': {exc.strerror or exc}", 2) from exc
    return ", ".join(found[:8]) + (f" and {len(found) - 8} more" if len(found) > 8 else "") if found else "nothing"


def _by_stem(where: Path, what: str) -> dict[str, Path]:
    """A folder's image files by stem; a FIFO or device named like an image, or two files of one stem, refused."""
    try:
        files = sorted(p for p in where.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    except OSError as exc:
        raise SpeccError(f"cannot read folder '{where}': {exc.strerror or exc}", 2) from exc
    found: dict[str, Path] = {}
    for file in files:
        status = stat_of(file)
        if status is not None and not stat.S_ISREG(status.st_mode):
            raise SpeccError(f"'{file}' is {kind(status)}, not an image file; remove it from '{where}'")
        if file.stem in found:
            raise SpeccError(f"'{found[file.stem]}' and '{file}' are two {what}s named {file.stem!r}; {what}s and "
                             f"masks are paired by the name without its suffix, so keep one")
        found[file.stem] = file
    return found


def _read(pair: tuple[Path, Path], target: Target, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of one folder, sorted by stem: images (N, H, W, C) float32, masks (N, H, W) class ids."""
    images, masks = _by_stem(pair[0], "image"), _by_stem(pair[1], "mask")
    _refuse_unpaired(images, masks, pair)
    if not images:
        raise SpeccError(f"'{pair[0]}' holds no PNG, JPEG or BMP images (and '{pair[1]}' no masks)")
    xs, ys = [], []
    for stem in sorted(images):
        xs.append(pixels(images[stem], target.shape, mode, target.resize))
        ys.append(mask(masks[stem], target))
    return np.stack(xs).astype(np.float32) / np.float32(255), np.stack(ys)


def _refuse_unpaired(images: dict[str, Path], masks: dict[str, Path], pair: tuple[Path, Path]) -> None:
    """Every image needs its mask and every mask its image: the first of each kind named, the rest counted."""
    lonely_images, lonely_masks = sorted(images.keys() - masks.keys()), sorted(masks.keys() - images.keys())
    found = []
    if lonely_images:
        found.append(f"image '{images[lonely_images[0]]}' has no mask {lonely_images[0]}.* in '{pair[1]}'"
                     f"{_more(len(lonely_images) - 1, 'image')}")
    if lonely_masks:
        found.append(f"mask '{masks[lonely_masks[0]]}' has no image {lonely_masks[0]}.* in '{pair[0]}'"
                     f"{_more(len(lonely_masks) - 1, 'mask')}")
    if found:
        raise SpeccError("; ".join(found) + ". Images and masks are paired by the file name without its suffix "
                                            "(images/0001.jpg with masks/0001.png)")


def _more(count: int, what: str) -> str:
    return f" (nor have {count} more {what}{'s' if count > 1 else ''})" if count else ""


def mask(file: Path, target: Target) -> np.ndarray:
    """One mask file as (H, W) class ids: its first channel (a palette image's index), checked against the spec."""
    from PIL import Image, UnidentifiedImageError

    height, width = target.output[:2]
    try:
        with Image.open(file) as opened:
            img: Image.Image = opened
            if img.size != (width, height):
                if not target.resize:
                    raise SpeccError(f"mask '{file}' is {img.height}x{img.width} but the spec's output is "
                                     f"{dims(target.output)} (line {target.line}): a mask gives a class id to every "
                                     f"output pixel; pass --resize to scale every image (bilinear) and mask (nearest "
                                     f"neighbour) to {height}x{width}")
                img = img.resize((width, height), Image.Resampling.NEAREST)
            values = np.asarray(img)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as exc:
        raise SpeccError(f"cannot read mask '{file}': {exc}") from exc
    return class_ids(values[..., 0] if values.ndim == 3 else values, f"mask '{file}'", target)


def class_ids(values: np.ndarray, what: str, target: Target) -> np.ndarray:
    """A mask's values as class ids the spec scores, in the smallest integer type that holds them."""
    if np.issubdtype(values.dtype, np.floating) and not np.all(np.mod(values, 1) == 0):
        raise SpeccError(f"{what} holds values that are not whole numbers; a mask's pixel values are class ids")
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    if low < 0:
        raise SpeccError(f"{what} holds class id {low}; class ids count from 0")
    if high >= target.classes:
        hint = ("; it looks black and white (0 and 255): save the foreground as class 1"
                if high == 255 and set(np.unique(values).tolist()) <= {0, 255} else "")
        raise SpeccError(f"{what} holds class id {high}, but the spec scores {target.classes} classes (ids 0.."
                         f"{target.classes - 1}: its output is {dims(target.output)}, line {target.line}){hint}")
    return values.astype(np.uint8 if target.classes <= 256 else np.int32)


def _class_names(root: Path, target: Target) -> list[str] | None:
    """classes.txt: one name a line, as many as the spec scores."""
    file = root / NAMES
    if not file.is_file():
        return None
    try:
        names = [line.strip() for line in file.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise SpeccError(f"cannot read '{file}' as UTF-8 text: {exc}") from exc
    while names and not names[-1]:
        names.pop()
    if len(names) != target.classes:
        raise SpeccError(f"'{file}' names {len(names)} classes but the spec scores {target.classes} (its output is "
                         f"{dims(target.output)}, line {target.line}); write one name a line, class 0 first")
    return names


# Synthetic shapes
def shapes(target: Target, seed: int, size: int) -> Segments:
    """``size`` images of ellipses and rectangles of classes 1..K-1 on background 0, each class its own
    colour plus noise (standard deviation 0.1), clipped to [0, 1]; the masks say which class is where.
    The colours do not depend on ``seed``: samples drawn with another seed are a test set of the same task."""
    height, width, channels = target.shape
    classes = target.classes
    colours = _colours(np.random.default_rng(0), classes, channels)  # (K, C): the same task whatever the seed
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width]
    y = np.zeros((size, height, width), dtype=np.uint8 if classes <= 256 else np.int32)
    for sample in y:
        for _ in range(int(rng.integers(1, 4))):
            cy, cx = rng.uniform(0, height), rng.uniform(0, width)
            ry, rx = rng.uniform(height / 8, height / 3), rng.uniform(width / 8, width / 3)
            if rng.random() < 0.5:
                inside = ((rows - cy) / ry) ** 2 + ((cols - cx) / rx) ** 2 <= 1
            else:
                inside = (np.abs(rows - cy) <= ry) & (np.abs(cols - cx) <= rx)
            sample[inside] = rng.integers(1, classes)
    x = colours[y] + rng.normal(0, 0.1, (size, height, width, channels)).astype(np.float32)
    return Segments(np.clip(x, 0, 1).astype(np.float32, copy=False), y,
                    scaling="synthetic shapes, a colour per class plus noise, in [0, 1], used as is")


def _colours(rng: np.random.Generator, classes: int, channels: int) -> np.ndarray:
    """(K, C) float32: in every channel the classes take evenly spaced levels in a random order."""
    levels = np.linspace(0.1, 0.9, classes, dtype=np.float32)
    return np.stack([rng.permutation(levels) for _ in range(channels)], axis=1)
