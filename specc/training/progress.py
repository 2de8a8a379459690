"""What a run prints: the live progress bar, one line per epoch, the summary.

The bar (tqdm) goes to stderr and only to a terminal or a Jupyter notebook
(``tqdm.auto``: a widget where ipywidgets is installed); epoch lines and the
summary go to stdout, so `specc train ... > log.txt` keeps a clean record.
``--quiet`` silences everything but errors. A stdout or stderr that closes
(`specc train ... | head -1`) silences the run instead of stopping it: the
training finishes, and its files say how it went.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

import torch


class Progress:
    def __init__(self, quiet: bool, enabled: bool = True):
        self.quiet = quiet or not enabled
        self.live = not self.quiet and (sys.stderr.isatty() or _in_notebook())
        self._bar: Any = None

    def say(self, text: str) -> None:
        if not self.quiet and not _write(sys.stdout, text):
            self.quiet = True  # the reader went away: train on, silently

    def epoch(self, epoch: int, epochs: int, steps: int) -> Callable[[int, torch.Tensor, int], None]:
        """A report function for loop.train_epoch, drawing a bar when live."""
        if not self.live:
            return _ignore
        self._bar = _tqdm()(total=steps, desc=f"epoch {epoch}/{epochs}", unit="batch", file=sys.stderr,
                         leave=False, dynamic_ncols=True)
        every = max(1, steps // 50)  # reading the loss waits for the device; not every step

        def report(step: int, sums: torch.Tensor, count: int) -> None:
            if step % every == 0 or step == steps:
                self._bar.set_postfix(loss=f"{(sums[0] / count).item():.4f}", refresh=False)
                self._bar.update(step - self._bar.n)

        return report

    def end_epoch(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _in_notebook() -> bool:
    """A Jupyter kernel runs us (its stderr is no terminal, yet it shows a bar)."""
    return "ipykernel" in sys.modules


def _tqdm() -> Any:
    import warnings

    with warnings.catch_warnings():  # tqdm.auto warns when it picks the widget, and when it lacks ipywidgets
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm
    return tqdm


def say_error(text: str) -> bool:
    """A line on stderr; False (and stderr silenced) if stderr is closed or full, never an exception."""
    return _write(sys.stderr, text)


def _write(stream: TextIO, text: str) -> bool:
    try:
        print(text, file=stream, flush=True)
        return True
    except (OSError, ValueError):  # EPIPE, ENOSPC, or a stream already closed
        _silence(stream)
        return False


def _silence(stream: TextIO) -> None:
    """Point a stream's file descriptor at /dev/null, so later writes (and the flush at exit) cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file behind it (a test's stream)
        pass


def _ignore(step: int, sums: torch.Tensor, count: int) -> None:
    pass


def epoch_line(record: dict[str, float], epochs: int, best: bool,
               shown: tuple[tuple[str, ...], tuple[str, ...]] = (("acc",), ("acc",))) -> str:
    """``epoch 3/10  train loss 0.1234 acc  96.10%  val loss … acc …  lr …``: the task's ``shown`` metrics
    of the training and of the validation pass."""
    from .tasks import shown_value

    e = int(record["epoch"])
    part = lambda prefix, names: "".join(f" {n} {shown_value(n, record[f'{prefix}_{n}'])}" for n in names)  # noqa: E731
    return (f"epoch {e:>{len(str(epochs))}}/{epochs}  train loss {record['train_loss']:.4f}{part('train', shown[0])}"
            f"  val loss {record['val_loss']:.4f}{part('val', shown[1])}  "
            f"lr {record['lr']:.3g}  {record['seconds']:.1f}s  {record['images_per_s']:,.0f} img/s"
            + ("  *" if best else ""))


def summary_line(monitor: str, best: float, best_epoch: int, seconds: float, images_per_s: float,
                 run_dir: str) -> str:
    """``best val accuracy 98.33% at epoch 9; …``: the task's monitored metric at best.pt's epoch."""
    from .tasks import PERCENT, WORDS

    name = monitor.removeprefix("val_")
    value = f"{best:.2%}" if name in PERCENT else f"{best:.4g}"
    return (f"best val {WORDS.get(name, name)} {value} at epoch {best_epoch}; {seconds:.1f} s, "
            f"{images_per_s:,.0f} images/s; run dir {run_dir}")
