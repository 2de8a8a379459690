"""The spec a checkpoint or an ONNX file carries, checked exactly as a spec file is.

Whoever wrote the file also wrote the spec and its sha256, so neither proves
anything: the text is untrusted input. It goes through the one spec reader
(:func:`specc.source.read`, given the bytes as a file's bytes are given, so a
one-line text is never taken for a path), with every limit a spec file meets,
and any error or failure of the check becomes one SpeccError naming the file:
``the spec inside 'run/best.pt' does not check: ...``. No torch.
"""

from __future__ import annotations

from ..analysis import Analysis
from ..errors import SpeccError, first_line
from ..version import __version__


def checked_spec(text: object, file: object, name: str) -> Analysis:
    """The Analysis of the spec ``text`` that ``file`` carries (``name`` gives the default model name)."""
    from ..source import read

    where = f"the spec inside '{file}'"
    if not isinstance(text, str) or not text.strip():
        raise SpeccError(f"{where} is {'empty' if isinstance(text, str) else type(text).__name__}: the file "
                         f"is damaged or was not written by specc")
    try:
        analysis = read(text.encode("utf-8", "surrogatepass"), name)
    except SpeccError as exc:
        raise SpeccError(f"{where} cannot be checked: {exc.message}", exc.status) from exc
    except RecursionError as exc:
        raise SpeccError(f"{where} cannot be checked: it nests too deeply for the checker") from exc
    except MemoryError as exc:
        raise SpeccError(f"{where} cannot be checked: out of memory") from exc
    except Exception as exc:  # noqa: BLE001 -- untrusted text: any failure of the check refuses the file, named
        raise SpeccError(f"{where} cannot be checked ({type(exc).__name__}: {first_line(exc)})") from exc
    errors = analysis.errors
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        raise SpeccError(f"{where} does not check with specc {__version__}: line {first.span.line}:"
                         f"{first.span.column}: {first.code} {first.message}{more}")
    return analysis
