"""Sample files read as arrays: image files, folders of images, .npz archives.

`specc predict` reads its inputs here, and `specc train`'s data sources
(:mod:`specc.training.sources`) read their image files and .npz archives with the
same functions, so both refuse the same files the same way: a FIFO or device
(reading it could wait forever), a decompression bomb, an archive that would
need unpickling, NaN or infinite values. Every predict sample comes back as
float32 in the spec's layout, (H, W, C) or (F,), scaled as the run's data was:
image pixels (uint8) are divided by 255, as `specc train` scales image files;
an .npz's `x` follows the training rule for .npz files (uint8 divided by 255,
float used as is). Imports numpy and pillow, never torch.

A model with several inputs reads .npz files only, one array per input, keyed by
the input's label (as `specc train` reads them), each scaled by its own dtype; a
Sample then holds one array per input, in the spec's order.
"""

from __future__ import annotations

import stat
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SpeccError
from ..files import kind, stat_of
from ..numbers import dims
from ..record import NamedTuple

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
MODES = {1: "L", 3: "RGB", 4: "RGBA"}


class Entry(NamedTuple):
    """One of a spec's several inputs: its label (the key its array goes by in an .npz), shape and line."""

    name: str
    shape: tuple[int, ...]  # (H, W, C) or (F,)
    line: int


@dataclass(frozen=True)
class Sample:
    name: str  # the file, or FILE.npz[i]
    x: np.ndarray | tuple[np.ndarray, ...]  # (H, W, C) or (F,), float32, scaled; several inputs: one each


def image_scale_note(scaling: str) -> str | None:
    """A warning when the run's data was not pixels mapped to [0, 1], so that /255 may not match it."""
    if "255" in scaling or "to [0, 1]" in scaling:
        return None
    return (f"the model was trained on data scaled as '{scaling}'; image pixels are divided by 255 (to [0, 1]), "
            f"which may not match: give an .npz with `x` scaled as in training to be exact")


def pixels(file: Path, shape: tuple[int, ...], mode: str, resize: bool) -> np.ndarray:
    """One image file as uint8 (H, W, C) in ``mode`` ("L", "RGB", "RGBA"), at the spec's H and W."""
    from PIL import Image, UnidentifiedImageError

    height, width = shape[0], shape[1]
    try:
        with Image.open(file) as opened:
            img = opened.convert(mode)
            if img.size != (width, height):
                if not resize:
                    raise SpeccError(f"image '{file}' is {img.height}x{img.width} but the spec's input is "
                                     f"{dims(shape)}; pass --resize to scale every image to {height}x{width}")
                img = img.resize((width, height), Image.Resampling.BILINEAR)
            return np.asarray(img, dtype=np.uint8).reshape(height, width, -1)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as exc:
        raise SpeccError(f"cannot read image '{file}': {exc}") from exc


def read_image(file: Path, shape: tuple[int, ...], resize: bool) -> np.ndarray:
    """One image as (H, W, C) float32 in [0, 1], converted to the spec's channels."""
    if len(shape) != 3 or shape[2] not in MODES:
        raise SpeccError(f"'{file}' is an image, but the spec's input is {dims(shape)}: images fit inputs of 1 "
                         f"(grayscale), 3 (RGB) or 4 (RGBA) channels; give an .npz with `x` instead", 2)
    return pixels(file, shape, MODES[shape[2]], resize).astype(np.float32) / np.float32(255)


def npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file, never unpickling anything."""
    import zipfile
    import zlib

    if not zipfile.is_zipfile(path):  # else numpy would try it as a pickle and suggest allow_pickle
        raise SpeccError(f"cannot read '{path}' as an .npz archive: it is not a zip file (save it with np.savez)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {k: archive[k] for k in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:  # a bad CRC is BadZipFile
        raise SpeccError(f"cannot read '{path}' as an .npz archive (damaged?): {exc}") from exc


def scaled(x: np.ndarray, what: str) -> tuple[np.ndarray, str]:
    """uint8 -> /255; float -> as is; anything else is refused rather than guessed."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255), "uint8 divided by 255, to [0, 1]"
    if np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float32, copy=False), f"{x.dtype} used as is"
    raise SpeccError(f"{what} has dtype {x.dtype}; use uint8 (scaled by 1/255) or float (used as is)")


def refuse_non_finite(x: np.ndarray, what: str, advice: str) -> None:
    """Refuse samples (rows of ``x``) holding NaN or infinity, naming how many and the first."""
    bad = ~np.isfinite(x).all(axis=tuple(range(1, x.ndim)))
    if bad.any():
        raise SpeccError(f"{what} holds NaN or infinite values ({int(bad.sum())} samples, the first is sample "
                         f"{int(np.argmax(bad))}); {advice}")


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)


def read_npz(file: Path, shape: tuple[int, ...]) -> Iterator[Sample]:
    """The samples of an .npz's `x`, (N, H, W, C), (N, H, W) or (N, F), scaled as training scales them."""
    arrays = npz_arrays(file)
    if "x" not in arrays:
        raise SpeccError(f"'{file}' has no array 'x' (it has: {', '.join(arrays) or 'nothing'})")
    x = fitted(scaled(arrays["x"], f"'{file}' x")[0], shape, f"'{file}' x", "the spec's input")
    for i, sample in enumerate(x):
        yield Sample(f"{file}[{i}]", sample)


def fitted(x: np.ndarray, shape: tuple[int, ...], what: str, spec_input: str) -> np.ndarray:
    """Samples of ``shape`` (N×shape), from N×shape, one sample, grayscale without a channel or flattened."""
    if x.ndim == len(shape) and x.ndim >= 1 and tuple(x.shape) == tuple(shape):
        x = x[None]  # a single sample without the batch axis
    if x.ndim == 3 and len(shape) == 3:
        x = x[..., None]  # grayscale without a channel axis
    if len(shape) == 1 and x.ndim > 2 and int(np.prod(x.shape[1:])) == shape[0]:
        x = x.reshape(len(x), -1)
    if x.ndim < 2:
        raise SpeccError(f"{what} has shape {x.shape}, neither samples of {spec_input} {dims(shape)} "
                         f"(N×{dims(shape)}) nor one sample of it")
    if tuple(x.shape[1:]) != tuple(shape):
        raise SpeccError(f"{what} holds samples of {dims(x.shape[1:])} but {spec_input} is {dims(shape)}")
    refuse_non_finite(x, what, "a model cannot score them")
    return x


def read_inputs(paths: list[str | Path], inputs: tuple[Entry, ...], recorded: dict[str, str] | None = None,
                warn: Callable[[str], None] = _warn) -> Iterator[Sample]:
    """The samples of a model with several inputs: .npz files holding one array per input label.

    Each array is scaled by its own dtype, as `specc train` scaled that input; ``warn`` says so
    where the run ``recorded`` another scaling for it. Every input needs as many samples as the
    first. Images and folders are refused: a sample is several arrays.
    """
    names = ", ".join(e.name for e in inputs)
    for raw in paths:
        path = Path(raw)
        found = stat_of(path)
        if found is None:
            raise SpeccError(f"cannot read '{raw}': no such file or folder", 2)
        if not stat.S_ISREG(found.st_mode) or path.suffix.lower() != ".npz":
            what = "a folder" if stat.S_ISDIR(found.st_mode) else kind(found) if not stat.S_ISREG(found.st_mode) \
                else "not an .npz"
            raise SpeccError(f"'{raw}' is {what}; the model has {len(inputs)} inputs ({names}), so its samples come "
                             f"in .npz files holding one array per input, named by its label", 2)
        xs = input_arrays(path, inputs, recorded or {}, warn)
        for i in range(len(xs[0])):
            yield Sample(f"{path}[{i}]", tuple(x[i] for x in xs))


def input_arrays(file: Path, inputs: tuple[Entry, ...], recorded: dict[str, str],
                 warn: Callable[[str], None]) -> list[np.ndarray]:
    """Every input's samples from one .npz, in the spec's order, each checked against its input's line."""
    arrays = npz_arrays(file)
    found = []
    for entry in inputs:
        if entry.name not in arrays:
            raise SpeccError(f"'{file}' has no array `{entry.name}` for the spec's input {entry.name} (line "
                             f"{entry.line}); it has: {', '.join(arrays) or 'nothing'}")
        x, scaling = scaled(arrays[entry.name], f"'{file}' {entry.name}")
        trained = recorded.get(entry.name)
        if trained is not None and ("255" in trained) != ("255" in scaling):
            warn(f"'{file}' {entry.name} is {scaling}, but the model's input {entry.name} was trained on data "
                 f"scaled as '{trained}'; give it as training had it")
        found.append(fitted(x, entry.shape, f"'{file}' {entry.name}",
                             f"the spec's input {entry.name} (line {entry.line})"))
        if len(found[-1]) != len(found[0]):
            raise SpeccError(f"'{file}' {entry.name} has {len(found[-1])} samples but {inputs[0].name} has "
                             f"{len(found[0])}; every input (here {entry.name}, line {entry.line}) needs one per "
                             f"sample")
    return found


def _images_in(folder: Path, warn: Callable[[str], None]) -> list[Path]:
    """The regular image files of a folder, sorted; one named like an image but not a file is skipped, said."""
    try:
        named = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    except OSError as exc:
        raise SpeccError(f"cannot read folder '{folder}': {exc.strerror or exc}", 2) from exc
    files = []
    for file in named:
        found = stat_of(file)
        if found is not None and stat.S_ISREG(found.st_mode):
            files.append(file)
        else:  # a FIFO would never end a read; a broken link has nothing to read
            warn(f"skipped '{file}': it is {kind(found) if found else 'a broken link'}, not an image file")
    if not files:
        raise SpeccError(f"folder '{folder}' holds no PNG or JPEG images", 2)
    return files


def read(paths: list[str | Path], shape: tuple[int, ...], resize: bool = False,
         warn: Callable[[str], None] = _warn) -> Iterator[Sample]:
    """The samples the command line names, in order; folders in sorted order.

    A file named directly must be a regular file (a FIFO is refused, status 2);
    one found in a folder that is not is skipped, and ``warn`` says so.
    """
    for raw in paths:
        path = Path(raw)
        found = stat_of(path)
        if found is None:
            raise SpeccError(f"cannot read '{raw}': no such file or folder", 2)
        if stat.S_ISDIR(found.st_mode):
            for file in _images_in(path, warn):
                yield Sample(str(file), read_image(file, shape, resize))
        elif not stat.S_ISREG(found.st_mode):
            raise SpeccError(f"cannot read '{raw}': it is {kind(found)}, not a file or folder", 2)
        elif path.suffix.lower() == ".npz":
            yield from read_npz(path, shape)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            yield Sample(str(path), read_image(path, shape, resize))
        else:
            raise SpeccError(f"'{raw}' is neither an image (PNG, JPEG, BMP), a folder of images nor an .npz", 2)
