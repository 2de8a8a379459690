"""The dispatch tables are complete: adding a layer kind or a diagnostic code
is a checklist these tests enforce.

A kind is declared once, in its family's module of specc.kinds; every list of
kinds elsewhere is derived from the registry, and each test here fails when a
derived list (the statement table, the shape rules, the emitters, the memory
rules, the merges, the keyword lists, the drawing's colours, the schema, the
torch twins) misses one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import specc
from specc import ir, kinds
from specc.diagnostics import CODES
from specc.kinds.base import Form, Kind
from specc.lower import statements

ROOT = Path(__file__).resolve().parent.parent


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def _layer_classes() -> set[type]:
    """Every Layer subclass specc.kinds defines, the family bases (Merge) aside."""
    return {cls for cls in _subclasses(ir.Layer) if cls.__module__.startswith("specc.kinds.")} - {kinds.Merge}


def _layer_forms() -> dict[str, Form]:
    return {word: form for word, form in statements.STATEMENTS.items() if form.node is not None}


def test_every_layer_class_is_a_kind_with_a_rule_an_emitter_and_what_it_keeps() -> None:
    assert set(kinds.KINDS) == _layer_classes()
    assert set(kinds.SHAPE_RULES) == set(kinds.EMITTERS) == set(kinds.KINDS)
    for node, kind in kinds.KINDS.items():
        assert kind.node is node and kind.family in {f.__name__.rsplit(".", 1)[1] for f in kinds.FAMILIES}, kind
        assert callable(kind.shape) and callable(kind.emit) and callable(kind.keeps), kind


def test_a_kind_without_a_rule_or_an_emitter_fails_where_it_is_declared() -> None:
    parts = {"family": "merge", "forms": (), "shape": kinds.SHAPE_RULES[kinds.Add],
             "emit": kinds.EMITTERS[kinds.Add], "keeps": kinds.KINDS[kinds.Add].keeps}
    for missing in ("shape", "emit", "keeps", "family"):
        with pytest.raises(TypeError, match=missing):
            Kind(kinds.Add, **{k: v for k, v in parts.items() if k != missing})


def test_every_statement_lowers_to_a_layer_the_shape_pass_knows() -> None:
    for keyword, form in statements.STATEMENTS.items():
        if form.node is None:
            continue
        args = " input" if form.merge else {
            "conv": " 4 3", "maxpool": " 2", "avgpool": " 2", "fc": " 3", "dropout": " 0.5", "convtranspose": " 4 3",
            "dwconv": " 3", "upsample": " 2", "zeropad": " 1", "groupnorm": " 2", "activation": " relu",
            "layerscale": " 0.5", "reshape": " 4x4x8"}.get(keyword, "")
        analysis = specc.check(f"input 8x8x2\nrelu\n{keyword}{args}\n")
        assert analysis.ok, (keyword, analysis.diagnostics)
        assert type(analysis.layers[1].layer) is form.node and form.node in kinds.SHAPE_RULES


def test_every_layer_kind_declares_its_traits() -> None:
    for cls in _layer_classes():
        assert "receptive" in vars(cls) or cls is kinds.Invalid or issubclass(cls, kinds.Merge), cls
        assert cls.receptive in ("pointwise", "window", "whole", "none", "transposed", "upsample", "adaptive"), cls
        assert cls.merge == issubclass(cls, kinds.Merge), cls
    built = {form.node for form in _layer_forms().values()} | {f.variant for f in _layer_forms().values() if f.variant}
    assert built == _layer_classes() - {kinds.Invalid}


def test_the_statement_table_is_the_kinds_forms_and_the_three_statements() -> None:
    written = {word: form for kind in kinds.KINDS.values() for form in kind.forms for word in [form.word]}
    assert _layer_forms() == kinds.STATEMENTS == written
    assert list(statements.STATEMENTS) == [*(w for w in kinds.STATEMENTS if w not in kinds.ACTIVATIONS),
                                           *statements.OTHERS, *kinds.ACTIVATIONS]
    assert statements.KEYWORD_ALIASES == {s: w for w, f in kinds.STATEMENTS.items() for s in f.synonyms}
    assert set(statements.KEYWORD_ALIASES) >= set(kinds.ACTIVATION_ALIASES)
    assert kinds.MERGES == tuple(w for w, f in kinds.STATEMENTS.items() if issubclass(f.node, kinds.Merge))


def test_every_merge_names_its_onnx_op_and_the_tools_know_it() -> None:
    for merge in kinds.MERGES:
        node = kinds.STATEMENTS[merge].node
        assert isinstance(node.onnx_op, str), merge
        if "operator" in dir(node):  # an element-wise merge writes its operator between the inputs
            assert node.operator in ("+", "-", "*", "/"), merge
    analysis = specc.check("input 4x4x1\nconv 2 1 from=input from=input\n")  # E107's help names every merge
    (e107,) = [d for d in analysis.diagnostics if d.code == "E107"]
    assert all(f"`{merge}`" in e107.help for merge in kinds.MERGES), e107.help
    pytest.importorskip("onnx")
    from specc.exporting.names import _MERGES

    assert sorted(_MERGES.values()) == sorted(kinds.MERGES)


def test_every_keyword_has_a_colour_and_the_schema_names_every_kind() -> None:
    from specc.draw import style
    from specc.report.schema import LayerEntry

    assert set(kinds.FAMILY.values()) <= set(style.FAMILY_COLOURS)
    for word in [*statements.STATEMENTS, *statements.KEYWORD_ALIASES]:
        if word not in statements.OTHERS:
            assert style.colours(word) != style.OTHER, word
    described = LayerEntry.model_fields["kind"].description
    for form in _layer_forms().values():
        assert re.search(rf"\b{form.kind}\b", described), form.kind


def test_every_activation_is_a_keyword_an_option_value_and_a_completion() -> None:
    pytest.importorskip("lsprotocol")
    from specc.lsp.complete import VOCABULARY

    for name in kinds.ACTIVATIONS:
        assert statements.STATEMENTS[name].fixed == {"function": name}
        assert specc.check(f"input 4\nfc 2 activation={name}\n").ok, name
        assert name in VOCABULARY
    for alias, name in kinds.ACTIVATION_ALIASES.items():
        assert statements.KEYWORD_ALIASES[alias] == name
        assert specc.check(f"input 4\nfc 2 {alias}\n").layers[0].layer.activation == name


def test_every_error_code_is_documented_and_has_a_broken_spec() -> None:
    language = (ROOT / "docs" / "language.md").read_text()
    broken = {p.name.split("-")[0] for p in (ROOT / "tests" / "broken").glob("*.cnn")}
    for code in CODES:
        assert re.search(rf"^\| {code} \|", language, re.M), f"{code} missing from docs/language.md"
        assert code in broken, f"no tests/broken/{code}-*.cnn"
    assert broken <= set(CODES)


def test_every_code_the_source_can_emit_is_in_a_table_and_documented() -> None:
    # A code written anywhere in specc/ (a literal "E114", a rule's CODE = "W205") is an error of CODES, a lint
    # rule's or the suppression comment's W001; the language reference lists every error and W001, the rule
    # reference every rule, and no table names a code the source never writes.
    from specc.lint.registry import RULES
    from specc.lint.suppress import UNKNOWN_CODE

    written = {code for path in (ROOT / "specc").rglob("*.py")
               for code in re.findall(r"[\"']([EW]\d{3})[\"']", path.read_text(encoding="utf-8"))}
    known = {*CODES, *RULES, UNKNOWN_CODE}
    assert written == known, (sorted(written - known), sorted(known - written))
    language, rules = ((ROOT / "docs" / name).read_text(encoding="utf-8") for name in ("language.md", "rules.md"))
    for code in [*CODES, UNKNOWN_CODE]:
        assert re.search(rf"^\| {code} \|", language, re.M), f"{code} missing from docs/language.md's table"
    for code in RULES:
        assert re.search(rf"^\| \[{code}\]", rules, re.M), f"{code} missing from docs/rules.md's table"


def test_every_kind_is_in_the_language_reference() -> None:
    language = (ROOT / "docs" / "language.md").read_text()
    for word in [*kinds.STATEMENTS, *kinds.KEYWORD_ALIASES]:
        assert re.search(rf"`{word}\b", language), f"`{word}` missing from docs/language.md"


def test_one_hyperparameter_table_feeds_the_train_statement_the_flags_and_the_config() -> None:
    from specc.cli.commands.train import HYPER_FLAGS
    from specc.hyperparameters import HYPERPARAMETERS
    from specc.lower.statements import TRAIN_OPTIONS
    from specc.training.config import TrainConfig

    names = [h.name for h in HYPERPARAMETERS]
    assert list(TRAIN_OPTIONS) == names == [flag[0] for flag in HYPER_FLAGS] == list(TrainConfig.model_fields)
    defaults = TrainConfig()
    for h in HYPERPARAMETERS:
        assert getattr(defaults, h.name) == h.default and TrainConfig.model_fields[h.name].description == h.reason
        # None: the run decides (task, loss, monitor), or nothing is given (init: a path, as a spec writes one)
        value = h.default if h.default is not None else "weights/base.pt" if h.kind == "path" else \
            h.choices[0] if h.choices else "val_loss"
        written = specc.check(f"input 4\nfc 2 softmax\ntrain {h.name}={value}\n")
        assert written.ok, (h.name, written.diagnostics)  # every default passes the spec's own checker
        if h.kind == "choice":  # every word of a choice is one the spec's checker and the config both take
            for word in h.choices:
                assert specc.check(f"input 4\nfc 2 softmax\ntrain {h.name}={word}\n").ok, (h.name, word)
                assert getattr(TrainConfig(**{h.name: word}), h.name) == word


def test_the_train_config_a_type_checker_reads_is_the_one_made_from_the_table() -> None:
    """specc/training/config.py declares TrainConfig's fields for mypy (the model itself is made from
    the table at run time): the same names, in order, with the types of their kinds."""
    import ast

    from specc.hyperparameters import HYPERPARAMETERS, TYPES

    tree = ast.parse((ROOT / "specc" / "training" / "config.py").read_text(encoding="utf-8"))
    declared = next(node for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.name == "TrainConfig")
    fields = [(item.target.id, ast.unparse(item.annotation)) for item in declared.body
              if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)]
    choices = {"optimizer": "Optimizer", "task": "Task | None", "loss": "Loss | None", "schedule": "Schedule"}
    assert fields == [(h.name, choices[h.name] if h.kind == "choice" else
                       TYPES[h.kind].__name__ + (" | None" if h.default is None else "")) for h in HYPERPARAMETERS]
    # each choice's Literal holds the table's words
    from typing import get_args

    from specc.training import config

    for h in HYPERPARAMETERS:
        if h.kind == "choice":
            assert get_args(getattr(config, choices[h.name].split(" ")[0])) == h.choices


def test_every_layer_kind_has_a_generator_and_a_torch_reference() -> None:
    """The random-stack oracle draws every kind a spec can write and builds its torch twin; the
    random-graph oracle does the same for every merge."""
    from graph_layers import MERGES as SHAPED
    from graph_twin import MERGES as COMPUTED
    from strategies_kinds import DRAWN
    from torch_reference_kinds import BUILT

    layers = {form.kind for form in _layer_forms().values() if not form.merge}
    assert layers <= DRAWN, layers - DRAWN
    assert layers <= BUILT, layers - BUILT
    merges = set(kinds.MERGES)
    assert merges <= set(SHAPED), merges - set(SHAPED)
    assert merges <= set(COMPUTED), merges - set(COMPUTED)


def _option(command: str, flag: str):
    from specc.cli import parser

    sub = next(a for a in parser(command)._actions if a.dest == "command")
    return next(a for a in sub.choices[command]._actions if flag in a.option_strings)


def test_every_report_format_is_a_format_choice_of_check() -> None:
    from specc.report import FORMATS

    assert tuple(_option("check", "--format").choices) == tuple(FORMATS)


def test_the_optimizers_are_listed_once() -> None:
    """The train statement's choices, check's --optimizer, the memory estimate and the report's schema."""
    pytest.importorskip("pydantic")
    from specc.hyperparameters import OPTIMIZERS
    from specc.infer.training_memory import OPTIMIZER_COPIES
    from specc.report.schema import report_schema

    assert tuple(_option("check", "--optimizer").choices) == OPTIMIZERS == tuple(OPTIMIZER_COPIES)
    assert tuple(report_schema()["$defs"]["TrainingMemory"]["properties"]["optimizer"]["enum"]) == OPTIMIZERS
