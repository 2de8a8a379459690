"""`specc predict`'s text for the tasks beyond classify: one line per input (or pair), after the
line that names the model, its weights and the scaling (as a classifier's: :func:`specc.api.predict.text`).

Names from files are shown with control characters written out, as everywhere in predict.
"""

from __future__ import annotations

from ..escape import printable_line
from .answers import Answer, Embeddings, Regression, Segmentation, Verification
from .predict import Loaded

SHOWN_VALUES = 4  # an embedding's first values on its line


def text(model: Loaded, found: Answer) -> str:
    shown = printable_line
    head = f"{shown(model.name)}: {shown(model.source)}; inputs scaled as '{shown(model.scaling)}'"
    if isinstance(found, Segmentation):
        return "\n".join([head, *_segmentation(found)])
    if isinstance(found, Regression):
        return "\n".join([head, *_columns([shown(n) for n in found.inputs],
                                          ["  ".join(f"{v:.6g}" for v in row) for row in found.values])])
    if isinstance(found, Embeddings):
        lines = [f"{found.embeddings.shape[1]} values, L2-normalised: "
                 f"{' '.join(f'{v:.3f}' for v in row[:SHOWN_VALUES])}{' ...' * (len(row) > SHOWN_VALUES)}"
                 for row in found.embeddings]
        return "\n".join([head, *_columns([shown(n) for n in found.inputs], lines),
                          _threshold_line(found.threshold, "distance")])
    assert isinstance(found, Verification)
    note = [] if found.same is not None else ["the model records no threshold: no same/different verdicts"]
    return "\n".join([head, *_columns([shown(n) for n in found.inputs], _verdicts(found)),
                      *note])


def _segmentation(found: Segmentation) -> list[str]:
    """Per input: its files, then the classes that take the most pixels."""
    names = [printable_line(n) for n in found.inputs]
    lines = []
    for i, fractions in enumerate(found.fractions):
        order = sorted(range(len(fractions)), key=lambda k: -fractions[k])[:3]
        classes = "  ".join(f"{printable_line(found.name_of(k))} {fractions[k]:.1%}" for k in order if fractions[k])
        files = f"{printable_line(found.files[i][0])}, {printable_line(found.files[i][1])}  " if found.files else ""
        lines.append(f"{files}{classes}")
    return _columns(names, lines)


def _verdicts(found: Verification) -> list[str]:
    if found.same is None:
        return [f"{found.measure} {score:.4f}" for score in found.scores]
    return [f"{found.measure} {score:.4f}  {'same' if same else 'different'} (threshold {found.threshold:.4g})"
            for score, same in zip(found.scores, found.same)]


def _threshold_line(threshold: float | None, measure: str) -> str:
    if threshold is None:
        return "the model records no threshold: --pair gives distances without verdicts"
    return f"the run's threshold: a {measure} below {threshold:.4g} is the same identity (--pair compares two)"


def _columns(names: list[str], rows: list[str]) -> list[str]:
    width = max(map(len, names), default=0)
    return [f"{name:<{width}}  {row}" for name, row in zip(names, rows)]
