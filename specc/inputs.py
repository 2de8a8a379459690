"""Samples to run a model on, for `specc predict`: image files, folders of images, .npz arrays.

Every sample comes back as float32 in the spec's layout, (H, W, C) or (F,),
scaled as the run's data was: image pixels (uint8) are divided by 255, as
`specc train` scales image files; an .npz's `x` follows the training rule for
.npz files (uint8 divided by 255, float used as is). Imports numpy and pillow.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import SpeccError
from .numbers import dims

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
MODES = {1: "L", 3: "RGB", 4: "RGBA"}


@dataclass(frozen=True)
class Sample:
    name: str  # the file, or FILE.npz[i]
    x: np.ndarray  # (H, W, C) or (F,), float32, scaled




def image_scale_note(scaling: str) -> str | None:
    """A warning when the run's data was not pixels mapped to [0, 1], so that /255 may not match it."""
    if "255" in scaling or "to [0, 1]" in scaling:
        return None
    return (f"the model was trained on data scaled as '{scaling}'; image pixels are divided by 255 (to [0, 1]), "
            f"which may not match: give an .npz with `x` scaled as in training to be exact")


def read_image(file: Path, shape: tuple[int, ...], resize: bool) -> np.ndarray:
    """One image as (H, W, C) float32 in [0, 1], converted to the spec's channels."""
    from PIL import Image, UnidentifiedImageError

    if len(shape) != 3 or shape[2] not in MODES:
        raise SpeccError(f"'{file}' is an image, but the spec's input is {dims(shape)}: images fit inputs of 1 "
                         f"(grayscale), 3 (RGB) or 4 (RGBA) channels; give an .npz with `x` instead", 2)
    height, width = shape[0], shape[1]
    try:
        with Image.open(file) as img:
            img = img.convert(MODES[shape[2]])
            if img.size != (width, height):
                if not resize:
                    raise SpeccError(f"image '{file}' is {img.height}x{img.width} but the spec's input is "
                                     f"{dims(shape)}; pass --resize to scale it to {height}x{width}")
                img = img.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(img, dtype=np.uint8).reshape(height, width, -1)
    except (OSError, UnidentifiedImageError) as exc:
        raise SpeccError(f"cannot read image '{file}': {exc}") from exc
    return pixels.astype(np.float32) / np.float32(255)


def read_npz(file: Path, shape: tuple[int, ...]) -> Iterator[Sample]:
    """The samples of an .npz's `x`, (N, H, W, C), (N, H, W) or (N, F), scaled as training scales them."""
    from .train.sources import npz_arrays, scaled

    arrays = npz_arrays(file)
    if "x" not in arrays:
        raise SpeccError(f"'{file}' has no array 'x' (it has: {', '.join(arrays) or 'nothing'})")
    x, _ = scaled(arrays["x"], f"'{file}' x")
    if x.ndim == len(shape) and x.ndim >= 1 and tuple(x.shape) == tuple(shape):
        x = x[None]  # a single sample without the batch axis
    if x.ndim == 3 and len(shape) == 3:
        x = x[..., None]  # grayscale without a channel axis
    if len(shape) == 1 and x.ndim > 2 and int(np.prod(x.shape[1:])) == shape[0]:
        x = x.reshape(len(x), -1)
    if tuple(x.shape[1:]) != tuple(shape):
        raise SpeccError(f"'{file}' x holds samples of {dims(x.shape[1:])} but the spec's input is {dims(shape)}")
    for i, sample in enumerate(x):
        yield Sample(f"{file}[{i}]", sample)


def _images_in(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SpeccError(f"folder '{folder}' holds no PNG or JPEG images", 2)
    return files


def read(paths: list[str | Path], shape: tuple[int, ...], resize: bool = False) -> Iterator[Sample]:
    """The samples the command line names, in order; folders in sorted order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in _images_in(path):
                yield Sample(str(file), read_image(file, shape, resize))
        elif not path.exists():
            raise SpeccError(f"cannot read '{raw}': no such file or folder", 2)
        elif path.suffix.lower() == ".npz":
            yield from read_npz(path, shape)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            yield Sample(str(path), read_image(path, shape, resize))
        else:
            raise SpeccError(f"'{raw}' is neither an image (PNG, JPEG, BMP), a folder of images nor an .npz", 2)
