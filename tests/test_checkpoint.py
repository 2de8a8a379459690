"""specc.runtime.checkpoint: round trip, refusal of foreign/damaged/tampered files, atomic writes."""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import pytest
import torch

import specc
from specc.errors import SpeccError
from specc.runtime.checkpoint import (
    CHECKPOINT_FORMAT,
    CheckpointMeta,
    load_checkpoint,
    load_model,
    resolve_checkpoint,
    save_checkpoint,
    spec_sha256,
    weights_sha256,
)

SPEC = """model tiny
input 6x6x1
conv 3 3x3 relu
batchnorm
fc 4 softmax
"""
OTHER = SPEC.replace("conv 3", "conv 5")


def _meta(source: str = SPEC, epoch: int = 1) -> CheckpointMeta:
    return CheckpointMeta(model_name="tiny", spec_source=source, spec_sha256=spec_sha256(source),
                          class_names=["a", "b", "c", "d"], config={"train": {"lr": 0.1}}, epoch=epoch,
                          metrics={"val_acc": 0.5})


def _saved(tmp_path: Path, name: str = "last.pt", epoch: int = 1) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(epoch)
    module = specc.build(SPEC)
    opt = torch.optim.Adam(module.parameters())
    module.logits(torch.randn(2, 1, 6, 6)).sum().backward()
    opt.step()
    path = tmp_path / name
    save_checkpoint(path, module, _meta(epoch=epoch), opt, {"rng": torch.get_rng_state(), "history": [{"a": 1.0}]})
    return path, module


def _rewrite(path: Path, change) -> None:
    payload = torch.load(path, weights_only=True)
    change(payload)
    torch.save(payload, path)


def test_round_trip_keeps_weights_meta_and_rest(tmp_path):
    path, module = _saved(tmp_path)
    state, meta, rest = load_checkpoint(path)
    assert meta.format == CHECKPOINT_FORMAT and meta.epoch == 1 and meta.class_names == ["a", "b", "c", "d"]
    assert meta.specc_version == specc.__version__ and meta.weights_sha256 == weights_sha256(state)
    assert state.keys() == module.state_dict().keys()
    assert all(torch.equal(state[k], v) for k, v in module.state_dict().items())
    assert rest["optimizer"]["state"] and rest["extra"]["history"] == [{"a": 1.0}]


def test_load_model_rebuilds_the_same_function(tmp_path):
    path, module = _saved(tmp_path)
    loaded, meta = load_model(path, spec_source=SPEC)
    x = torch.randn(3, 1, 6, 6)
    module.eval()
    assert not loaded.training and meta.model_name == "tiny"
    torch.testing.assert_close(loaded(x), module(x), rtol=0, atol=0)


def test_resolve_prefers_best_then_last(tmp_path):
    last, _ = _saved(tmp_path, "last.pt")
    assert resolve_checkpoint(tmp_path) == last
    best, _ = _saved(tmp_path, "best.pt")
    assert resolve_checkpoint(tmp_path) == best and resolve_checkpoint(last) == last
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SpeccError, match="holds no checkpoint"):
        resolve_checkpoint(empty)
    with pytest.raises(SpeccError, match="not found") as err:
        resolve_checkpoint(tmp_path / "missing.pt")
    assert err.value.status == 2


def test_refuses_a_different_spec(tmp_path):
    path, _ = _saved(tmp_path)
    with pytest.raises(SpeccError, match="different spec"):
        load_model(path, spec_source=OTHER)


def test_refuses_tampered_weights(tmp_path):
    path, _ = _saved(tmp_path)
    _rewrite(path, lambda p: p["model"]["conv1.weight"].add_(0.01))
    with pytest.raises(SpeccError, match="modified after it was written"):
        load_checkpoint(path)


def test_refuses_a_tampered_spec(tmp_path):
    path, _ = _saved(tmp_path)
    _rewrite(path, lambda p: p["meta"].update(spec_source=OTHER))
    with pytest.raises(SpeccError, match="spec does not match"):
        load_checkpoint(path)


def test_refuses_weights_that_do_not_fit_the_spec(tmp_path):
    path, _ = _saved(tmp_path)

    def swap(payload):  # consistent hash, wrong shape: only rebuilding the module can tell
        payload["model"]["conv1.weight"] = torch.zeros(5, 1, 3, 3)
        payload["meta"]["weights_sha256"] = weights_sha256(payload["model"])

    _rewrite(path, swap)
    with pytest.raises(SpeccError, match="do not fit"):
        load_model(path)


@pytest.mark.parametrize("content", [
    lambda p: torch.save({"weights": torch.zeros(2)}, p),
    lambda p: torch.save([1, 2], p),
    lambda p: p.write_bytes(pickle.dumps(argparse.Namespace(a=1))),
    lambda p: torch.save({"format": CHECKPOINT_FORMAT, "x": argparse.Namespace(a=1)}, p),
    lambda p: p.write_bytes(b"not a checkpoint at all"),
], ids=["foreign-dict", "foreign-list", "raw-pickle", "arbitrary-object", "garbage"])
def test_refuses_foreign_files(tmp_path, content):
    path = tmp_path / "x.pt"
    content(path)
    with pytest.raises(SpeccError, match="not a specc checkpoint|not a readable checkpoint") as err:
        load_checkpoint(path)
    assert err.value.status == 1


def test_refuses_a_truncated_file(tmp_path):
    path, _ = _saved(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(SpeccError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_failed_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path, _ = _saved(tmp_path, epoch=1)
    before = path.read_bytes()

    def broken_save(obj, handle, *args, **kwargs):
        handle.write(b"PK\x03\x04 half a zip")  # some bytes reach the disk, then the process dies
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    module = specc.build(SPEC)
    with pytest.raises(SpeccError, match="cannot write checkpoint") as err:
        save_checkpoint(path, module, _meta(epoch=2))
    monkeypatch.undo()
    assert err.value.status == 2
    assert path.read_bytes() == before and load_checkpoint(path)[1].epoch == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left behind


def test_file_holds_only_plain_types_and_tensors(tmp_path):
    path, _ = _saved(tmp_path)
    payload = torch.load(path, weights_only=True)  # would raise on any other pickled object
    assert set(payload) == {"format", "meta", "model", "optimizer", "extra"}
    assert all(v.device.type == "cpu" and v.is_contiguous() for v in payload["model"].values())


def test_random_bytes_are_called_unreadable_not_foreign_objects(tmp_path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(bytes(range(7, 250)) * 3)
    with pytest.raises(SpeccError, match="not a readable checkpoint"):
        load_checkpoint(junk)
