"""specc: design convolutional networks in a small declarative language.

``specc.compile(text, path)`` checks a spec and returns an Analysis (no torch);
``specc.build(source)`` returns the PyTorch module that `specc compile` emits.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .pipeline import Analysis, check, compile, compile_bytes  # noqa: E402

__all__ = ["Analysis", "check", "compile", "compile_bytes", "__version__"]


def __getattr__(name: str):
    # torch is imported only when a module is actually built (specc.build).
    if name == "build":
        from .builder import build

        return build
    raise AttributeError(f"module 'specc' has no attribute {name!r}")
