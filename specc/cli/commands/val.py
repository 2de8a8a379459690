"""`specc val RUN_DIR [--data SOURCE]`: a trained run's accuracy, per class, with figures.

The work is :func:`specc.api.evaluate.evaluate`; this module parses options and prints.
"""

from __future__ import annotations

import argparse
import json


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("val", help="evaluate a trained run on labelled data: accuracy, per class, confusion matrix",
                       description="Score a run's best checkpoint on labelled data and write a confusion matrix "
                                   "(val-confusion.png) and a grid of misclassified samples (val-misclassified.png) "
                                   "into the run directory. Scores the source's validation part when it has one, "
                                   "the run's own held-out split for the data it trained on, else every sample.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (its best.pt) or a checkpoint (.pt)")
    p.add_argument("--data", metavar="SOURCE",
                   help="as for specc train: digits, synthetic[:N], FILE.npz, FILE.h5 or a folder of class folders "
                        "(default: the data the run trained on)")
    p.add_argument("--resize", action="store_true", default=None, help="image folders: scale images to the spec's HxW")
    p.add_argument("--format", "-f", choices=("text", "json"), default="text", help="output format (default: text)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ...api.evaluate import evaluate, text
    from ...escape import json_safe

    result = evaluate(args.run_dir, args.data, args.resize)
    print(json_safe(json.dumps(result.as_dict(), indent=2, ensure_ascii=False)) if args.format == "json"
          else text(result))
    return 0
