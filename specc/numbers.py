"""Readable numbers: the one formatter every report uses for counts and sizes.

Counts are printed exactly, with thousands separators, and beside them a
scaled figure with an SI suffix (k, M, G, T: powers of 1000, as torchinfo,
Keras and Ultralytics print them): ``138,357,544 (138.4 M)``. Byte sizes use
binary units (KiB, MiB, GiB). Past the largest unit (1000 T, 1024 TiB) a figure
reads in scientific form, `1.9e47`. Pure Python, no imports beyond the standard library.
"""

from __future__ import annotations

import math

SI = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))


def exact(n: int | None) -> str:
    """``62958`` -> ``62,958``; unknown -> ``?``."""
    return "?" if n is None else f"{n:,}"


def scaled(n: float) -> str:
    """``15470264320`` -> ``15.5 G``; below 1000 the number itself; from 1000 T on
    ``1.9e47`` (never a figure of dozens of digits)."""
    if abs(n) >= HUGE:
        return scientific(n)
    for size, suffix in SI:
        if abs(n) >= size:
            return f"{n / size:.1f} {suffix}"
    return f"{n:g}" if isinstance(n, float) else str(n)


HUGE = 10**15  # 1000 T: past the largest suffix


def scientific(n: int | float) -> str:
    """``188313051535459829255394699904104325502507941888`` -> ``1.9e47``: two significant
    digits, worked out on the integer itself, so that even one past a float's range reads."""
    if isinstance(n, float):
        if not math.isfinite(n):
            return str(n)
        n = int(n)
    digits = str(abs(n))  # sizes are capped (specc.infer.sizes): far below Python's 4,300-digit limit
    exponent = len(digits) - 1
    tenths = (int(digits[:3].ljust(3, "0")) + 5) // 10  # the first two digits, rounded
    if tenths == 100:
        tenths, exponent = 10, exponent + 1
    return f"{'-' if n < 0 else ''}{tenths // 10}.{tenths % 10}e{exponent}"


def readable(n: int | None) -> str:
    """The exact count and, from 1000 on, its scaled form: ``138,357,544 (138.4 M)``."""
    if n is None or abs(n) < 1000:
        return exact(n)
    return f"{exact(n)} ({scaled(n)})"


def human_bytes(n: int | float) -> str:
    """``251832`` -> ``245.9 KiB`` (binary units; whole bytes below 1 KiB); from 1024 TiB
    on, bytes in scientific form (``1.8e19 B``)."""
    if n >= 1024**5:
        return f"{scientific(n)} B"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def dims(shape) -> str:
    """A shape or a window as the spec writes it: 28x28x8, 120, 5x5; ? for what is unknown."""
    if shape is None:
        return "?"
    if None in shape:
        return "x".join("?" if d is None else str(d) for d in shape)
    return "x".join(map(str, shape))  # the usual case, once per row of a table of 100,000 layers
