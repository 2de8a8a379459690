"""Rewrite tests/golden/*.py from specs/*.cnn: `python tests/update_golden.py`.

The golden files are what `specc compile` emits for the example specs; the
tests compare against them byte for byte, and only this script changes them
(review the diff before committing). Specs with errors are skipped.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


def golden_path(spec: Path) -> Path:
    """specs/mobilenet-block.cnn -> tests/golden/mobilenet_block.py (an importable name)."""
    return GOLDEN / (spec.stem.replace("-", "_") + ".py")


def main() -> int:
    sys.path.insert(0, str(ROOT))
    import specc
    from specc.codegen import generate

    GOLDEN.mkdir(exist_ok=True)
    wanted = set()
    for spec in sorted((ROOT / "specs").glob("*.cnn")):
        analysis = specc.check(spec)
        if not analysis.ok:
            print(f"skipped {spec.name}: it has errors")
            continue
        target = golden_path(spec)
        wanted.add(target)
        text = generate(analysis)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {target.relative_to(ROOT)}")
    for stale in sorted(set(GOLDEN.glob("*.py")) - wanted):
        stale.unlink()
        print(f"removed {stale.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
