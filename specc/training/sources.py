"""Data sources for `specc train --data`: where images and labels come from.

Every loader returns a :class:`Data` in one convention — images ``(N, H, W, C)``
(or vectors ``(N, F)``) as float32 with exactly the scaling documented here,
integer labels ``(N,)`` — and no normalisation beyond it:

  digits        scikit-learn's 8x8 digits (shipped, no download): values 0..16 divided by 16, to [0, 1]
  synthetic[:N] N random samples of the spec's shape, class-dependent means (learnable), used as drawn
  FILE.npz      `x` (N×H×W×C or N×H×W or N×F), `y`; optional `x_val`, `y_val`, `class_names`;
                uint8 divided by 255, float used as is
  FILE.h5       the course's layout: `train_set_x`, `train_set_y`, optional `list_classes`,
                `test_set_x`/`test_set_y` (the validation set); uint8 divided by 255
  FOLDER/       one sub-folder of PNG/JPEG images per class (names sorted = class indices), or
                `train/` and `val/` folders laid out so; pixels divided by 255. A folder whose float32
                pixels would take more than $SPECC_IN_MEMORY MiB (512) is decoded once into an on-disk
                cache and read a mini-batch at a time (specc.runtime.store): Data.x is then a Stored.
                A segmenter's folder holds `images/` and `masks/` instead (specc.training.masks)
  arrays        in-memory arrays lent by the library (``specc.train(spec, (x, y))``), in the course's
                layout: x `(m, H, W, C)` (or `(m, H, W)`, `(m, F)`), y `(m,)` or `(1, m)`; scaled as .npz

A spec with several inputs (`a: input …`, `b: input …`) reads one array per input, keyed by
the input's label: FILE.npz holds `a`, `b` and `y` (optional `a_val`, `b_val`, `y_val`), lent
arrays give x as a dict ``{"a": …, "b": …}``, and synthetic draws every input; each input is
scaled by its own dtype (as `x` is). Data.x is then a dict of arrays in the spec's input order.
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SpeccError
from ..files import kind, stat_of
from ..runtime.samples import IMAGE_SUFFIXES, MODES, Entry, npz_arrays, pixels, scaled
from ..runtime.store import Stored, decoded, in_memory_bytes

# The samples of a spec's inputs: one array, or (several inputs) one per input label, in the spec's order.
Arrays = np.ndarray | dict[str, np.ndarray]


@dataclass(frozen=True)
class Want:
    """What the spec asks for, so that sources can make or adapt data to it."""

    shape: tuple[int, ...]  # the spec's input: (H, W, C) or (F,)
    classes: int
    seed: int
    resize: bool = False
    inputs: tuple[Entry, ...] = ()  # every input when the spec has several; () for one
    task: str = "classify"  # what y holds: class labels (classify, embed), masks (segment), values (regress)
    output: tuple[int, ...] = ()  # the spec's output, (K,) or (H, W, K): a mask folder is checked against it
    output_line: int = 0  # the line the messages about the output cite


@dataclass(frozen=True)
class Data:
    x: Arrays | Stored  # (N, H, W, C) or (N, H, W) or (N, F), float32; a dict of such for several inputs;
    # a folder too big for memory: its images in the on-disk cache, read as (N, C, H, W) a mini-batch at a time
    y: np.ndarray  # (N,) integer labels
    x_val: Arrays | Stored | None = None
    y_val: np.ndarray | None = None
    class_names: list[str] | None = None
    scaling: str = "used as is"  # several inputs: "a: …; b: …"
    scalings: dict[str, str] | None = None  # several inputs: each one's scaling, by label
    where: str = "data"  # the arrays' origin, as messages name it: "'pairs.npz'", "the arrays"


def labels(y: np.ndarray, what: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and 1 in y.shape:  # the course stores labels as (1, m) as well as (m,)
        y = y.reshape(-1)
    if y.ndim != 1:
        raise SpeccError(f"{what} has shape {y.shape}; labels are one class index per sample, (m,) or (1, m)")
    if np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0):
        y = y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.integer):
        raise SpeccError(f"{what} must be integer class labels, got dtype {y.dtype}")
    if y.size and y.min() < 0:
        raise SpeccError(f"{what} has a negative label ({int(y.min())}); labels are class indices from 0")
    if y.size and int(y.max()) > 2**31:  # checked before the cast, which would wrap a huge uint64 around
        raise SpeccError(f"{what} has a label of {int(y.max())}; labels are class indices 0..N-1")
    return y.astype(np.int64)


def targets(y: np.ndarray, what: str, want: Want) -> np.ndarray:
    """``y`` as read: class labels checked here; masks and values are the task's to check (specc.training.tasks)."""
    return labels(y, what) if want.task in ("classify", "embed") else np.asarray(y)


def digits(want: Want) -> Data:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)  # (1797, 8, 8), values 0..16
    return Data(x, bunch.target.astype(np.int64), class_names=[str(n) for n in bunch.target_names],
                scaling="values 0..16 divided by 16, to [0, 1]")


def synthetic(want: Want, size: int = 2048) -> Data:
    """Noise around one random mean per class: separable, so loss visibly falls."""
    if want.inputs:
        return _synthetic_inputs(want, size)
    rng = np.random.default_rng(want.seed)
    means = rng.standard_normal((want.classes, *want.shape), dtype=np.float32)
    y = rng.permutation(np.arange(size) % want.classes)
    x = rng.standard_normal((size, *want.shape), dtype=np.float32) * np.float32(1.5)
    x += means[y]
    return Data(x, y.astype(np.int64), scaling="standard normal noise around per-class means, used as is")


def _synthetic_inputs(want: Want, size: int) -> Data:
    """Several inputs: each drawn as one input is, around its own per-class means."""
    rng = np.random.default_rng(want.seed)
    y = rng.permutation(np.arange(size) % want.classes)
    x = {}
    for entry in want.inputs:
        means = rng.standard_normal((want.classes, *entry.shape), dtype=np.float32)
        x[entry.name] = rng.standard_normal((size, *entry.shape), dtype=np.float32) * np.float32(1.5) + means[y]
    scaling = "standard normal noise around per-class means, used as is"
    return Data(x, y.astype(np.int64), scaling=scaling, scalings={e.name: scaling for e in want.inputs},
                where="the synthetic data")


def npz(path: Path, want: Want) -> Data:
    if want.inputs:
        return npz_inputs(path, want)
    arrays = npz_arrays(path)
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise SpeccError(f"'{path}' has no array {' or '.join(map(repr, missing))} "
                         f"(it has: {', '.join(arrays) or 'nothing'}); expected `x` (images) and `y` (labels)")
    x, scaling = scaled(arrays["x"], f"'{path}' x")
    x_val = y_val = None
    if "x_val" in arrays or "y_val" in arrays:
        if not ("x_val" in arrays and "y_val" in arrays):
            raise SpeccError(f"'{path}' has only one of `x_val` and `y_val`; give both or neither")
        x_val, y_val = scaled(arrays["x_val"], f"'{path}' x_val")[0], targets(arrays["y_val"], f"'{path}' y_val", want)
    names = [str(n) for n in arrays["class_names"].reshape(-1)] if "class_names" in arrays else None
    return Data(x, targets(arrays["y"], f"'{path}' y", want), x_val, y_val, names, scaling, where=f"'{path}'")


def npz_inputs(path: Path, want: Want) -> Data:
    """A spec with several inputs: one array per input label, `y`; optional `LABEL_val` for each and `y_val`."""
    arrays = npz_arrays(path)
    refuse_reserved(want.inputs)
    for entry in want.inputs:
        if entry.name not in arrays:
            raise SpeccError(f"'{path}' has no array `{entry.name}` for the spec's input {entry.name} (line "
                             f"{entry.line}); it has: {', '.join(arrays) or 'nothing'}. A spec with several inputs "
                             f"reads one array per input, named by its label, and `y` (the labels)")
    if "y" not in arrays:
        raise SpeccError(f"'{path}' has no array `y` (it has: {', '.join(arrays)}); expected one array per input "
                         f"({', '.join(e.name for e in want.inputs)}) and `y` (the labels)")
    val_keys = [f"{e.name}_val" for e in want.inputs] + ["y_val"]
    given = [k for k in val_keys if k in arrays]
    if given and len(given) != len(val_keys):
        missing = ", ".join(f"`{k}`" for k in val_keys if k not in arrays)
        raise SpeccError(f"'{path}' has a validation set without {missing}; give every one of "
                         f"{', '.join(f'`{k}`' for k in val_keys)} or none")
    x, scalings = _scaled_inputs(arrays, want.inputs, path, "")
    x_val = _scaled_inputs(arrays, want.inputs, path, "_val")[0] if given else None
    y_val = targets(arrays["y_val"], f"'{path}' y_val", want) if given else None
    names = [str(n) for n in arrays["class_names"].reshape(-1)] if "class_names" in arrays else None
    return Data(x, targets(arrays["y"], f"'{path}' y", want), x_val, y_val, names, scalings_text(scalings), scalings,
                f"'{path}'")


def _scaled_inputs(arrays: dict[str, np.ndarray], inputs: tuple[Entry, ...], path: Path, suffix: str
                   ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Each input's array scaled by its own dtype, and how, by label."""
    x, scalings = {}, {}
    for entry in inputs:
        key = entry.name + suffix
        x[entry.name], scalings[entry.name] = scaled(arrays[key], f"'{path}' {key}")
    return x, scalings


def scalings_text(scalings: dict[str, str]) -> str:
    """Several inputs' scalings in one line, as a run prints and records them: `a: uint8 …; b: float32 …`."""
    return "; ".join(f"{name}: {scaling}" for name, scaling in scalings.items())


def refuse_reserved(inputs: tuple[Entry, ...]) -> None:
    """An input labelled as a data file names something else (`y`, `class_names`, another input's `_val`)."""
    reserved = {"y", "y_val", "class_names"} | {f"{e.name}_val" for e in inputs}
    for entry in inputs:
        if entry.name in reserved:
            raise SpeccError(f"the spec's input `{entry.name}` (line {entry.line}) has the name a data file gives "
                             f"to {'its labels' if entry.name.startswith('y') else 'other arrays'}; relabel the "
                             f"input to train it")


def hdf5(path: Path, want: Want) -> Data:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "train_set_x" not in f or "train_set_y" not in f:
                raise SpeccError(f"'{path}' lacks `train_set_x`/`train_set_y` (it has: {', '.join(f.keys())}); "
                                 f"expected the course's layout")
            read = lambda key: _dataset(f, key, path)  # noqa: E731
            x, scaling = scaled(read("train_set_x"), f"'{path}' train_set_x")
            y = labels(read("train_set_y"), f"'{path}' train_set_y")
            x_val = y_val = None
            if ("test_set_x" in f) != ("test_set_y" in f):
                raise SpeccError(f"'{path}' has only one of `test_set_x` and `test_set_y`; give both or neither")
            if "test_set_x" in f:
                x_val = scaled(read("test_set_x"), f"'{path}' test_set_x")[0]
                y_val = labels(read("test_set_y"), f"'{path}' test_set_y")
            names = _names(read("list_classes"), path) if "list_classes" in f else None
    except OSError as exc:
        raise SpeccError(f"cannot read '{path}' as HDF5: {exc}") from exc
    return Data(x, y, x_val, y_val, names, scaling)


def _dataset(f, key: str, path: Path) -> np.ndarray:
    import h5py

    if not isinstance(f[key], h5py.Dataset):
        raise SpeccError(f"'{path}': `{key}` is an HDF5 group, not an array")
    value = f[key][()]
    if isinstance(value, h5py.Empty):  # a dataset with a null dataspace: no values at all
        raise SpeccError(f"'{path}': `{key}` is empty (an HDF5 dataset with no data)")
    return np.asarray(value)


def _names(values: np.ndarray, path: Path) -> list[str]:
    """list_classes as text; bytes must be UTF-8 (the course's files are ASCII)."""
    names = []
    for n in values.reshape(-1):
        try:
            names.append(n.decode("utf-8") if isinstance(n, bytes) else str(n))
        except UnicodeDecodeError as exc:
            raise SpeccError(f"'{path}': class name {len(names) + 1} in `list_classes` is not UTF-8 text "
                             f"({n[:40]!r})") from exc
    return names


def _class_folders(root: Path) -> list[Path]:
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as exc:
        raise SpeccError(f"cannot read folder '{root}': {exc.strerror or exc}", 2) from exc


def _image_files(folder: Path) -> list[Path]:
    """The images of a class folder; a FIFO or device named like an image is refused (reading it could hang)."""
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    except OSError as exc:
        raise SpeccError(f"cannot read class folder '{folder}': {exc.strerror or exc}", 2) from exc
    for file in files:
        found = stat_of(file)
        if found is not None and not stat.S_ISREG(found.st_mode):
            raise SpeccError(f"'{file}' is {kind(found)}, not an image file; remove it from the class folder")
    return files


def _listed(root: Path, names: list[str], want: Want) -> tuple[list[Path], np.ndarray]:
    """The class folders' image files, in order (class by class, names sorted), and their labels."""
    if len(want.shape) != 3 or want.shape[-1] not in MODES:
        raise SpeccError(f"an image folder gives 1 (grayscale), 3 (RGB) or 4 (RGBA) channels, but the spec's "
                         f"input is {'x'.join(map(str, want.shape))}")
    files: list[Path] = []
    ys: list[int] = []
    for index, name in enumerate(names):
        found = _image_files(root / name)
        if not found:
            raise SpeccError(f"class folder '{root / name}' holds no PNG or JPEG images")
        files += found
        ys += [index] * len(found)
    return files, np.asarray(ys, dtype=np.int64)


def _read(files: list[Path], want: Want, stream: bool) -> np.ndarray | Stored:
    """Image files as uint8 (N, H, W, C) in memory, or (``stream``) in the on-disk cache (specc.runtime.store)."""
    shape, mode = (want.shape[0], want.shape[1], want.shape[2]), MODES[want.shape[2]]
    if stream:
        return decoded(files, shape, mode, want.resize)
    return np.stack([pixels(f, shape, mode, want.resize) for f in files])


def folder(root: Path, want: Want) -> Data:
    """Class folders, or train/ and val/ folders of them. Held in memory unless the float32 pixels of both
    parts would take more than ``SPECC_IN_MEMORY`` MiB: then both are read from the on-disk cache."""
    subs = {p.name: p for p in _class_folders(root)}
    val_name = next((n for n in ("val", "valid", "validation") if n in subs), None)
    split = "train" in subs and val_name is not None and _class_folders(subs["train"])
    val_root = subs[val_name] if split and val_name is not None else None  # train/ and val/: a split given
    train_root = subs["train"] if val_root is not None else root
    names = [p.name for p in _class_folders(train_root)]
    if not names:
        raise SpeccError(f"folder '{root}' has no class sub-folders (expected one folder of images per class)")
    files, y = _listed(train_root, names, want)
    val_files: list[Path] = []
    y_val = None
    if val_root is not None:
        extra = sorted({p.name for p in _class_folders(val_root)} - set(names))
        if extra:
            raise SpeccError(f"'{val_root}' has classes that '{train_root}' lacks: {', '.join(extra)}")
        val_names = [n for n in names if (val_root / n).is_dir()]
        if not val_names:
            raise SpeccError(f"'{val_root}' has no class sub-folders (expected the same class folders as "
                             f"'{train_root}')")
        val_files, y_val = _listed(val_root, val_names, want)
        y_val = np.asarray([names.index(val_names[i]) for i in y_val], dtype=np.int64)
    stream = (len(files) + len(val_files)) * int(np.prod(want.shape)) * 4 > in_memory_bytes()
    x = _read(files, want, stream)
    x_val = _read(val_files, want, stream) if val_root is not None else None
    return Data(_scaled_pixels(x), y, None if x_val is None else _scaled_pixels(x_val), y_val, names,
                "pixels divided by 255, to [0, 1]")


def _scaled_pixels(x: np.ndarray | Stored) -> np.ndarray | Stored:
    """Pixels divided by 255 as float32; a cache's images are divided so as each mini-batch is read."""
    return x if isinstance(x, Stored) else x.astype(np.float32) / np.float32(255)


def _synthetic_size(name: str) -> int:
    try:
        size = int(name.partition(":")[2] or 2048)
    except ValueError:
        raise SpeccError(f"--data {name}: expected synthetic or synthetic:N with N a whole number", 2) from None
    if size < 2:
        raise SpeccError(f"--data {name}: a synthetic set needs at least 2 samples", 2)
    return size


FILE_LOADERS: dict[str, Callable[[Path, Want], Data]] = {".npz": npz, ".h5": hdf5, ".hdf5": hdf5}

# Arrays lent by the library for one call of train, under the source name that `load` is given;
# LENT is their Data.where.
LENT = "the arrays"
_LENT: dict[str, Data] = {}
ARRAYS = "arrays:"


def from_arrays(arrays: tuple | list) -> Data:
    """``(x, y)`` or ``(x, y, x_val, y_val)`` as a Data, scaled and checked like an .npz's arrays;
    x (and x_val) a dict ``{label: array}`` for a spec with several inputs."""
    if not isinstance(arrays, (tuple, list)) or len(arrays) not in (2, 4):
        count = len(arrays) if isinstance(arrays, (tuple, list)) else type(arrays).__name__
        raise SpeccError(f"data arrays are (x, y) or (x, y, x_val, y_val); got {count}", 2)
    x, scaling, scalings = _lent_x(arrays[0], "x")
    y = np.asarray(arrays[1])  # checked by the run's task (specc.training.tasks), which knows what y holds
    if len(arrays) == 2:
        return Data(x, y, scaling=scaling, scalings=scalings, where=LENT)
    return Data(x, y, _lent_x(arrays[2], "x_val")[0], np.asarray(arrays[3]), scaling=scaling,
                scalings=scalings, where=LENT)


def _lent_x(x: object, what: str) -> tuple[Arrays, str, dict[str, str] | None]:
    """One array, or a dict of them (several inputs, by label), scaled by dtype."""
    if not isinstance(x, Mapping):
        return (*scaled(np.asarray(x), what), None)
    found, scalings = {}, {}
    for name, array in x.items():
        found[str(name)], scalings[str(name)] = scaled(np.asarray(array), f"{what}[{name!r}]")
    return found, scalings_text(scalings), scalings


def _shape_words(x: object) -> str:
    """`1437x8x8x1 uint8`, or for a dict of arrays `a 1437x8x8x1 uint8, b …` (a lent source's name)."""
    if isinstance(x, Mapping):
        return ", ".join(f"{name} {_shape_words(array)}" for name, array in x.items())
    array = np.asarray(x)
    return f"{'x'.join(map(str, array.shape))} {array.dtype}"


@contextmanager
def lent(arrays: tuple | list) -> Iterator[str]:
    """Lend in-memory arrays to `load` under a source name (e.g. `arrays:1437x8x8x1 uint8`) while inside."""
    data = from_arrays(arrays)
    name = base = f"{ARRAYS}{_shape_words(arrays[0])}"
    n = 1
    while name in _LENT:
        n += 1
        name = f"{base} #{n}"
    _LENT[name] = data
    try:
        yield name
    finally:
        del _LENT[name]


def load(source: str, want: Want) -> Data:
    """Load ``--data SOURCE``: a named set, a file by its suffix, a folder, or lent arrays."""
    if source in _LENT:
        return _LENT[source]
    if source.startswith(ARRAYS):
        raise SpeccError(f"the data '{source}' were in-memory arrays; pass them again "
                         f"(specc.train(spec, (x, y), resume=RUN_DIR))", 2)
    if source == "digits":
        return digits(_one_input(want, source))
    if source == "synthetic" or source.startswith("synthetic:"):
        if want.task == "segment":
            return _segments(source, want, drawn=True)
        if want.task not in ("classify", "embed"):
            raise SpeccError(f"--data {source} draws class data; task {want.task} learns from values: "
                             f"give an .npz", 2)
        return synthetic(want, _synthetic_size(source))
    path = Path(source)
    found = stat_of(path, "--data ")
    if found is None:
        raise SpeccError(f"--data '{source}': no such file or folder (or use `digits` or `synthetic`)", 2)
    if stat.S_ISDIR(found.st_mode):
        if want.task == "segment":  # images/ and masks/, paired by stem (specc.training.masks)
            return _segments(source, want)
        return folder(path, _one_input(want, source))
    if not stat.S_ISREG(found.st_mode):
        raise SpeccError(f"--data '{source}' is {kind(found)}, not a file or folder", 2)
    loader = FILE_LOADERS.get(path.suffix.lower())
    if loader is None:
        raise SpeccError(f"--data '{source}': unknown kind of file; give an .npz, .h5/.hdf5 file, "
                         f"a folder of images, `digits` or `synthetic`", 2)
    return loader(path, want if loader is npz else _one_input(want, source))


def _segments(source: str, want: Want, drawn: bool = False) -> Data:
    """A segmenter's images and masks: a folder of `images/` and `masks/`, or synthetic shapes."""
    from . import masks

    one = _one_input(want, source)
    target = masks.Target(one.shape, one.output, one.output_line, one.resize)
    found = masks.shapes(target, one.seed, _synthetic_size(source)) if drawn else masks.folder(Path(source), target)
    return Data(found.x, found.y, found.x_val, found.y_val, found.class_names, found.scaling,
                where="the synthetic data" if drawn else f"'{source}'")


def _one_input(want: Want, source: str) -> Want:
    """Sources of one image per sample (digits, the course's .h5, folders) refuse a spec with several inputs."""
    if want.inputs:
        names = ", ".join(f"{e.name} (line {e.line})" for e in want.inputs)
        raise SpeccError(f"--data '{source}' gives one input per sample, but the spec has {len(want.inputs)} "
                         f"inputs: {names}; give an .npz with one array per input, named by its label, and `y`, "
                         f"or `synthetic`", 2)
    return want
