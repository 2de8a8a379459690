"""No behaviour change: every report of this tree against those of another commit.

Run: python bench/same_reports.py [--base REV] [--variants 3000]

The speed work of issue 16 promised that the JSON report and the diagnostics of
every spec stay identical. This script checks it: it renders, for every .cnn
file of the repository and for thousands of deterministic mutations of them
(a character deleted, inserted or replaced, a line doubled, dropped or swapped,
numbers changed, a block called with repeat=), the JSON report, the text report
and the SARIF log, once with this tree and once with REV (default: the last
commit before the speed work) checked out in a temporary git worktree, and
lists every spec whose output differs. Exit status 1 when any does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = "f3affc9"  # main before the speed work of issue 16
CHARS = list("abcxyz019_.:=*/(){},# \t×-+") + ["\n", "in.c", "repeat=3", "from=in", "add in", "block b(f) {"]


def corpus() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.cnn") if ".git" not in p.parts)


def variants(texts: list[str], count: int, seed: int = 16) -> list[str]:
    """Deterministic mutations of the corpus: typos, dropped and doubled lines, new numbers."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        text = rng.choice(texts)
        lines = text.split("\n")
        for _ in range(rng.randint(1, 3)):
            how = rng.randrange(6)
            at = rng.randrange(len(lines))
            line = lines[at]
            col = rng.randrange(len(line) + 1)
            if how == 0 and line:
                lines[at] = line[:col] + line[col + 1:]
            elif how == 1:
                lines[at] = line[:col] + rng.choice(CHARS) + line[col:]
            elif how == 2:
                lines.insert(at, line)
            elif how == 3 and len(lines) > 1:
                del lines[at]
            elif how == 4:
                other = rng.randrange(len(lines))
                lines[at], lines[other] = lines[other], line
            else:
                lines[at] = "".join(str(rng.choice((1, 2, 3, 7, 64))) if c.isdigit() else c for c in line)
        out.append("\n".join(lines))
    return out


def outputs(texts: list[tuple[str, str]]) -> dict[str, str]:
    """name -> a digest of the JSON, text and SARIF renderings of the spec's check."""
    import specc
    from specc.report import render

    assert Path(specc.__file__).resolve().is_relative_to(Path(os.environ["PYTHONPATH"]).resolve()), specc.__file__

    digests = {}
    for name, text in texts:
        try:
            analysis = specc.check(text)
            rendered = [json.dumps(analysis.to_dict(), sort_keys=True)]
            rendered += [render([analysis], fmt, color=False) if fmt == "text" else render([analysis], fmt)
                         for fmt in ("text", "sarif")]
        except Exception as exc:  # a bug: recorded, so that a fixed one shows as such  # noqa: BLE001
            digests[name] = f"crash: {type(exc).__name__}"
            continue
        digests[name] = hashlib.sha256("\0".join(rendered).encode()).hexdigest()
    return digests


def dump(target: str, count: int) -> None:
    files = corpus()
    texts = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8", errors="replace")) for p in files]
    texts += [(f"variant-{i}", t) for i, t in enumerate(variants([t for _, t in texts], count))]
    Path(target).write_text(json.dumps(outputs(texts)), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=BASE)
    parser.add_argument("--variants", type=int, default=3000)
    parser.add_argument("--dump", help=argparse.SUPPRESS)  # the child's side: write this tree's digests
    args = parser.parse_args()
    if args.dump:
        dump(args.dump, args.variants)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp, "base")
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), args.base], check=True)
        try:
            results = {}
            for label, where in (("base", tree), ("this tree", ROOT)):
                out = Path(tmp, f"{label}.json")
                env = {**os.environ, "PYTHONPATH": str(where)}
                # the corpus and the mutations come from this tree's script, so both sides check the same texts
                subprocess.run([sys.executable, __file__, "--dump", str(out), "--variants", str(args.variants)],
                               env=env, check=True, cwd=ROOT)
                results[label] = json.loads(out.read_text())
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)
    base, this = results["base"], results["this tree"]
    fixed = sorted(name for name in base if base[name].startswith("crash") and not this[name].startswith("crash"))
    differ = sorted(name for name in base if base[name] != this[name] and name not in fixed)
    print(f"{len(base)} specs ({len(corpus())} files, {args.variants} mutations): "
          f"{len(differ)} differ from {args.base}; {len(fixed)} crashed there and no longer do")
    for name in differ[:50]:
        print("  differs:", name, this[name] if this[name].startswith("crash") else "")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
