"""The dispatch tables are complete: adding a layer kind or a diagnostic code
is a checklist these tests enforce."""

from __future__ import annotations

import re
from pathlib import Path

import specc
from specc import ir, lower, shape_rules
from specc.diagnostics import CODES

ROOT = Path(__file__).resolve().parent.parent


def _layer_classes() -> set[type]:
    return {cls for cls in vars(ir).values() if isinstance(cls, type) and issubclass(cls, ir.Layer)} - {
        ir.Layer, ir.Merge}


def test_every_layer_kind_has_a_shape_rule() -> None:
    assert set(shape_rules.RULES) == _layer_classes()


def test_every_statement_lowers_to_a_layer_the_shape_pass_knows() -> None:
    for keyword, form in lower.STATEMENTS.items():
        if form.kind in ("model", "input", "train"):
            continue
        args = {"conv": " 4 3", "maxpool": " 2", "avgpool": " 2", "fc": " 3", "dropout": " 0.5",
                "add": " input", "concat": " input", "multiply": " input", "convtranspose": " 4 3",
                "dwconv": " 3", "upsample": " 2", "zeropad": " 1", "groupnorm": " 2"}.get(keyword, "")
        analysis = specc.check(f"input 8x8x2\nrelu\n{keyword}{args}\n")
        assert analysis.ok, (keyword, analysis.diagnostics)
        assert type(analysis.layers[1].layer) is form.node and form.node in shape_rules.RULES


def test_every_layer_kind_declares_its_traits_and_has_an_emitter() -> None:
    from specc.codegen import EMITTERS

    for cls in _layer_classes():
        assert "receptive" in vars(cls) or cls is ir.Invalid or issubclass(cls, ir.Merge), cls
        assert cls.receptive in ("pointwise", "window", "whole", "none", "transposed", "upsample"), cls
        assert cls in EMITTERS, cls
    forms = {form.node for form in lower.STATEMENTS.values() if form.node is not None}
    assert forms == _layer_classes() - {ir.Invalid}


def test_every_error_code_is_documented_and_has_a_broken_spec() -> None:
    language = (ROOT / "docs" / "language.md").read_text()
    broken = {p.name.split("-")[0] for p in (ROOT / "tests" / "broken").glob("*.cnn")}
    for code in CODES:
        assert re.search(rf"^\| {code} \|", language, re.M), f"{code} missing from docs/language.md"
        assert code in broken, f"no tests/broken/{code}-*.cnn"
    assert broken <= set(CODES)


def test_one_hyperparameter_table_feeds_the_train_statement_the_flags_and_the_config() -> None:
    from specc.commands.train import HYPER_FLAGS
    from specc.forms import TRAIN_OPTIONS
    from specc.hyperparameters import HYPERPARAMETERS
    from specc.train.config import TrainConfig

    names = [h.name for h in HYPERPARAMETERS]
    assert list(TRAIN_OPTIONS) == names == [flag[0] for flag in HYPER_FLAGS] == list(TrainConfig.model_fields)
    defaults = TrainConfig()
    for h in HYPERPARAMETERS:
        assert getattr(defaults, h.name) == h.default and TrainConfig.model_fields[h.name].description == h.reason
        written = specc.check(f"input 4\nfc 2 softmax\ntrain {h.name}={h.default}\n")
        assert written.ok, (h.name, written.diagnostics)  # every default passes the spec's own checker


def test_every_layer_kind_has_a_generator_and_a_torch_reference() -> None:
    """The random-stack oracle draws every kind a spec can write and builds its torch twin."""
    from strategies_kinds import DRAWN
    from torch_reference_kinds import BUILT

    kinds = {form.kind for form in lower.STATEMENTS.values() if form.node is not None and not form.merge}
    assert kinds <= DRAWN, kinds - DRAWN
    assert kinds <= BUILT, kinds - BUILT
