"""`specc schema NAME`: print a published JSON Schema (report, config, checkpoint)."""

from __future__ import annotations

import argparse
import json

from ...errors import SpeccError
from ...extras import install_hint

NAMES = ("report", "config", "checkpoint")


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="print a JSON Schema: the check report, training config or checkpoint metadata")
    p.add_argument("name", choices=NAMES, help="which schema")
    p.set_defaults(run=run)


def _schema(name: str) -> dict:
    if name == "report":
        from ...report.schema import report_schema

        return report_schema()
    try:
        if name == "config":
            from ...training.config import TrainConfig

            return TrainConfig.model_json_schema()
        from ...runtime.checkpoint import CheckpointMeta

        return CheckpointMeta.model_json_schema()
    except ImportError as exc:
        raise SpeccError(f"the {name} schema needs the training extra: {install_hint('torch')} ({exc})", 2) from exc


def run(args: argparse.Namespace) -> int:
    print(json.dumps(_schema(args.name), indent=2))
    return 0
