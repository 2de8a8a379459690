"""Rewrite tests/golden/draw/*.svg from specs/*.cnn: `python tests/update_golden_draw.py`.

The golden drawings are what `specc draw` writes for the example specs (SVG,
top to bottom), and the drawings of the hand-built branching graphs of
tests/draw_graphs.py (`graph-NAME.svg`: the example specs are all plain
stacks until branches land); tests/test_draw_formats.py compares against
them byte for byte, and only this script changes them (look at the new
pictures before committing). Specs with errors are skipped.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "draw"


def golden_path(spec: Path) -> Path:
    return GOLDEN / (spec.stem + ".svg")


def drawing(spec: Path) -> str | None:
    """The SVG `specc draw SPEC` writes, or None for a spec with errors."""
    import specc
    from specc.draw import draw
    from specc.draw.adapter import from_analysis

    analysis = specc.check(spec)
    return draw(from_analysis(analysis)) if analysis.ok else None


BRANCHING = ("inception", "unet", "nested")  # resnet's expanded drawing is 150 KiB: its rules are tested instead


def branching_drawings() -> dict[Path, str]:
    """tests/golden/draw/graph-NAME.svg -> the drawing of tests/draw_graphs.py's NAME graph."""
    sys.path.insert(0, str(ROOT / "tests"))
    from draw_graphs import SYNTHETIC

    from specc.draw import draw

    return {GOLDEN / f"graph-{name}.svg": draw(SYNTHETIC[name](), "svg", "TB", False) for name in BRANCHING}


def main() -> int:
    sys.path.insert(0, str(ROOT))
    GOLDEN.mkdir(parents=True, exist_ok=True)
    wanted = set()
    drawings = {golden_path(spec): drawing(spec) for spec in sorted((ROOT / "specs").glob("*.cnn"))}
    for target, text in {**drawings, **branching_drawings()}.items():
        if text is None:
            print(f"skipped {target.stem}.cnn: it has errors")
            continue
        wanted.add(target)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {target.relative_to(ROOT)}")
    for stale in sorted(set(GOLDEN.glob("*.svg")) - wanted):
        stale.unlink()
        print(f"removed {stale.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
