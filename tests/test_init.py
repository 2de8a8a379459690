"""`specc train --init FILE`: initial weights from a PyTorch, safetensors, specc or Keras file (spec-tasks §3).

Loaded weights must reproduce the source's outputs: a torchvision-style
ResNet-18 (torchvision's parameter names, no torchvision import) into
specs/resnet18.cnn; Keras files (Keras 3 and Keras 2 layouts written with
h5py here, and a real Keras model where keras is installed) into a small
conv + batchnorm + flatten + dense spec, against a NumPy forward pass in
Keras's own HWC layout. Then the mapping's refusals and the errors.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch import nn
from twins import BasicBlock

from specc.cli import main
from specc.runtime.build import instantiate
from specc.source import read_ok
from specc.training.init import load_initial

ROOT = Path(__file__).resolve().parent.parent


class TorchvisionResNet18(nn.Module):
    """ResNet-18 with torchvision's names: conv1, bn1, layer1.0.conv1, ..., layer2.0.downsample.0, fc."""

    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu, self.maxpool = nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        c_in = 64
        for i, width in enumerate((64, 128, 256, 512), 1):
            setattr(self, f"layer{i}", nn.Sequential(BasicBlock(c_in, width, 1 if i == 1 else 2),
                                                     BasicBlock(width, width)))
            c_in = width
        self.avgpool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(512, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _randomised_batchnorms(net: nn.Module) -> nn.Module:
    """Batchnorm statistics and affine terms away from 0/1, so that a misplaced one changes the output."""
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory) -> tuple[Path, nn.Module]:
    torch.manual_seed(1)
    source = _randomised_batchnorms(TorchvisionResNet18())
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(source.state_dict(), path)
    return path, source


def _outputs(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return net.eval()(x)


def test_a_torchvision_resnet18_state_dict_reproduces_its_outputs_in_the_spec(resnet18_file):
    path, source = resnet18_file
    analysis = read_ok(ROOT / "specs" / "resnet18.cnn")
    torch.manual_seed(0)
    net = instantiate(analysis)
    x = torch.randn(2, 3, 224, 224)
    before = _outputs(net, x)
    mapping = load_initial(net, analysis, path, partial=False, origin="--init")
    assert len(mapping.loaded) == 41 and not mapping.left and not mapping.unused
    assert mapping.loaded_tensors == len(source.state_dict())  # every tensor, batch counters included
    expected = torch.softmax(_outputs(source, x), dim=1)  # the spec ends in `fc 1000 softmax`
    after = _outputs(net, x)
    assert not torch.allclose(before, expected, atol=1e-4)  # the test can fail: random weights differ
    torch.testing.assert_close(after.log(), expected.log(), atol=1e-4, rtol=1e-4)
    lines = "\n".join(mapping.lines())
    # layer1 keeps torchvision's names; the rest is matched by order and shape
    assert "layer1.0.conv1      <- layer1.0.conv1         by name" in lines
    assert "layer2.conv3        <- layer2.0.downsample.0  by order and shape" in lines
    assert "fc1                 <- fc                     by order and shape" in lines


def test_a_nested_state_dict_a_dataparallel_prefix_and_safetensors_are_read(resnet18_file, tmp_path):
    path, source = resnet18_file
    state = source.state_dict()
    nested = tmp_path / "checkpoint.pt"
    torch.save({"epoch": 90, "state_dict": {f"module.{k}": v for k, v in state.items()}}, nested)
    files = [nested]
    try:
        from safetensors.torch import save_file
    except ImportError:
        pass
    else:
        files.append(tmp_path / "resnet18.safetensors")
        save_file({k: v.contiguous() for k, v in state.items()}, str(files[-1]))
    analysis = read_ok(ROOT / "specs" / "resnet18.cnn")
    x = torch.randn(1, 3, 64, 64)  # any size: global pooling
    for file in files:
        net = instantiate(analysis)
        mapping = load_initial(net, analysis, file, partial=False, origin="--init")
        assert len(mapping.loaded) == 41, file
        torch.testing.assert_close(_outputs(net, x).log(), torch.softmax(_outputs(source, x), 1).log(),
                                   atol=1e-4, rtol=1e-4)


# Keras ---------------------------------------------------------------------------------------------------------

KERAS_SPEC = """model small
input 8x8x3
conv 4 3x3
batchnorm eps=0.001
relu
conv 6 3x3 p=same
flatten
fc 5
"""


def _keras_arrays(seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    f = lambda *shape, low=-0.5, high=0.5: rng.uniform(low, high, shape).astype(np.float32)  # noqa: E731
    return {"k1": f(3, 3, 3, 4), "b1": f(4), "gamma": f(4, low=0.5, high=1.5), "beta": f(4), "mean": f(4),
            "var": f(4, low=0.5, high=2.0), "k2": f(3, 3, 4, 6), "b2": f(6), "kd": f(6 * 6 * 6, 5), "bd": f(5)}


def _keras_forward(a: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The net in Keras's layout (NHWC, HWIO kernels, a flatten in HWC order), in NumPy."""
    def conv(x: np.ndarray, k: np.ndarray, b: np.ndarray, pad: int) -> np.ndarray:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        windows = np.lib.stride_tricks.sliding_window_view(x, k.shape[:2], axis=(1, 2))  # N, H, W, C, kh, kw
        return np.einsum("nhwcij,ijco->nhwo", windows, k) + b

    y = conv(x, a["k1"], a["b1"], 0)
    y = (y - a["mean"]) / np.sqrt(a["var"] + 1e-3) * a["gamma"] + a["beta"]
    y = conv(np.maximum(y, 0), a["k2"], a["b2"], 1)
    return y.reshape(len(x), -1) @ a["kd"] + a["bd"]


def _write_keras3(path: Path, a: dict[str, np.ndarray]) -> None:
    """The layout Keras 3's save_weights writes: layers/<class>[_N]/vars/<i>, groups in name order."""
    layers = {"conv2d": [a["k1"], a["b1"]], "batch_normalization": [a["gamma"], a["beta"], a["mean"], a["var"]],
              "conv2d_1": [a["k2"], a["b2"]], "dense": [a["kd"], a["bd"]], "flatten": [], "re_lu": []}
    with h5py.File(path, "w") as h5:
        for name, variables in layers.items():
            group = h5.create_group(f"layers/{name}/vars")
            group.attrs["name"] = name
            for i, value in enumerate(variables):
                group.create_dataset(str(i), data=value)
        h5.create_group("vars").attrs["name"] = "sequential"


def _write_keras2(path: Path, a: dict[str, np.ndarray]) -> None:
    """Keras 2's HDF5: layer_names in model order, each layer's weight_names."""
    with h5py.File(path, "w") as h5:
        _keras2_layers(h5, _keras2_list(a))


def _write_keras2_nested(path: Path, a: dict[str, np.ndarray]) -> None:
    """A Keras 2 whole model whose base is a model inside it: one layer `base` holding its layers' weights,
    under model_weights, with the model config (batchnorm's epsilon and momentum) beside it."""
    layers = _keras2_list(a)
    base = [(f"base/{name}", weights) for name, weights in layers[:-1]]
    config = {"class_name": "Sequential", "config": {"name": "outer", "layers": [
        {"class_name": "Functional", "config": {"name": "base", "layers": [
            {"class_name": "BatchNormalization", "config": {"name": "batch_normalization", "epsilon": 0.001,
                                                            "momentum": 0.95}}]}},
        {"class_name": "Dense", "config": {"name": "dense"}}]}}
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = json.dumps(config).encode()
        root = h5.create_group("model_weights")
        root.attrs["layer_names"] = [b"base", b"dense"]
        group = root.create_group("base")
        group.attrs["weight_names"] = [f"{name}/{w}:0".encode() for name, weights in base for w in weights]
        for name, weights in base:
            for w, value in weights.items():
                group.create_dataset(f"{name}/{w}:0", data=value)
        _keras2_layers(root, layers[-1:], names=False)


def _keras2_layers(root: h5py.Group, layers: list, names: bool = True) -> None:
    if names:
        root.attrs["layer_names"] = [name.encode() for name, _ in layers]
    for name, weights in layers:
        group = root.create_group(name)
        group.attrs["weight_names"] = [f"{name}/{w}:0".encode() for w in weights]
        for w, value in weights.items():
            group.create_dataset(f"{name}/{w}:0", data=value)


def _keras2_list(a: dict[str, np.ndarray]) -> list:
    return [("conv2d", {"kernel": a["k1"], "bias": a["b1"]}),
              ("batch_normalization", {"gamma": a["gamma"], "beta": a["beta"], "moving_mean": a["mean"],
                                       "moving_variance": a["var"]}),
              ("activation", {}), ("conv2d_1", {"kernel": a["k2"], "bias": a["b2"]}), ("flatten", {}),
              ("dense", {"kernel": a["kd"], "bias": a["bd"]})]


@pytest.mark.parametrize("writer", [_write_keras3, _write_keras2, _write_keras2_nested])
def test_keras_weights_written_with_h5py_reproduce_the_keras_outputs(tmp_path, writer):
    arrays = _keras_arrays()
    path = tmp_path / "small.weights.h5"
    writer(path, arrays)
    analysis = read_ok(_spec(tmp_path, KERAS_SPEC))
    net = instantiate(analysis)
    mapping = load_initial(net, analysis, path, partial=False, origin="--init")
    assert [p.source.name for p in mapping.pairs if p.source] == ["conv2d", "batch_normalization", "conv2d_1",
                                                                   "dense"]
    x = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 3)).astype(np.float32)
    out = _outputs(net, torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()).numpy()
    np.testing.assert_allclose(out, _keras_forward(arrays, x), atol=1e-5, rtol=1e-5)
    # the dense kernel follows a flatten of a 6x6x6 map: without the HWC -> CHW reorder the outputs differ
    plain = arrays["kd"].T.copy()
    assert not np.allclose(net.state_dict()["fc1.weight"].numpy(), plain)
    notes = " ".join(mapping.notes)
    momentum = 0.95 if writer is _write_keras2_nested else 0.99  # the nested model's config records its own
    assert f"momentum {momentum:g} is torch's momentum={1 - momentum:.4g}" in notes
    assert "epsilon" not in notes  # the spec says eps=0.001, as Keras


def test_a_keras_epsilon_the_spec_does_not_share_is_reported(tmp_path):
    path = tmp_path / "small.weights.h5"
    _write_keras3(path, _keras_arrays())
    analysis = read_ok(_spec(tmp_path, KERAS_SPEC.replace(" eps=0.001", "")))
    mapping = load_initial(instantiate(analysis), analysis, path, partial=False, origin="--init")
    assert any("epsilon is 0.001 (Keras's default; the file does not record it), the spec's 1e-05" in n
               for n in mapping.notes)


def test_a_real_keras_model_saved_with_save_weights_and_save(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization(),
                              keras.layers.ReLU(), keras.layers.Conv2D(6, 3, padding="same"),
                              keras.layers.Flatten(), keras.layers.Dense(5)])
    bn = model.layers[1]
    rng = np.random.default_rng(1)
    bn.moving_mean.assign(rng.uniform(-1, 1, 4))
    bn.moving_variance.assign(rng.uniform(0.5, 2, 4))
    bn.gamma.assign(rng.uniform(0.5, 2, 4))
    model.save_weights(tmp_path / "small.weights.h5")
    model.save(tmp_path / "small.keras")
    x = rng.uniform(0, 1, (2, 8, 8, 3)).astype(np.float32)
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    analysis = read_ok(_spec(tmp_path, KERAS_SPEC))
    for name in ("small.weights.h5", "small.keras"):
        net = instantiate(analysis)
        mapping = load_initial(net, analysis, tmp_path / name, partial=False, origin="--init")
        assert len(mapping.loaded) == 4 and not mapping.unused, name
        out = _outputs(net, torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()).numpy()
        np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)


# The command: mapping, fine-tuning, --partial, config.json, --resume, errors --------------------------------------

TINY = """model tiny
input 8x8x1
conv 6 3x3 relu
maxpool 2x2
fc {classes} softmax
train batch=32 epochs=1 lr=0.01 seed=0
"""


class Tiny(nn.Module):
    """The source of the fine-tuning: TINY with a 10-class head, torch's own names."""

    def __init__(self, classes: int = 10, bias: bool = True) -> None:
        super().__init__()
        self.features = nn.Conv2d(1, 6, 3, bias=bias)
        self.classifier = nn.Linear(54, classes)


def _spec(tmp_path: Path, text: str, name: str = "net.cnn") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _train(tmp_path: Path, text: str, *args: str) -> int:
    return main(["train", str(_spec(tmp_path, text)), "--data", "synthetic:64", *args])


def test_fine_tuning_a_new_head_loads_the_base_and_says_the_head_is_new(tmp_path, capsys):
    torch.save(Tiny().state_dict(), tmp_path / "base.pt")
    out = tmp_path / "run"
    assert _train(tmp_path, TINY.format(classes=3), "--init", str(tmp_path / "base.pt"), "--out", str(out)) == 0
    printed = capsys.readouterr().out
    assert "loaded 2 tensors into 1 of the spec's 2 layers with weights; 1 left as initialised" in printed
    assert re.search(r"conv1 +<- features +by order and shape +6x1x3x3 \+1", printed)
    assert re.search(r"fc1 +left as initialised: the file's classifier: weight 10x54 \(here 3x54\), bias 10 "
                     r"\(here 3\)", printed)
    assert printed.index("initial weights:") < printed.index("epoch 1")
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["init"] == str(tmp_path / "base.pt") and config["origins"]["init"] == "--init"
    assert config["init"]["loaded"] == {"conv1": {"from": "features", "by": "order and shape"}}
    assert "fc1" in config["init"]["left"] and config["init"]["unused"] == ["classifier"]


def test_a_layer_left_before_the_last_loaded_one_needs_partial(tmp_path, capsys):
    torch.save(Tiny(bias=False).state_dict(), tmp_path / "base.pt")  # the spec's conv has a bias: it stays new
    text = TINY.format(classes=10)
    out = tmp_path / "run"
    assert _train(tmp_path, text, "--init", str(tmp_path / "base.pt"), "--out", str(out)) == 1
    err = capsys.readouterr().err
    assert "1 layer of the spec before its last loaded one left as initialised (conv1)" in err
    assert "pass --partial" in err
    assert re.search(r"conv1 +left as initialised: the file's features: bias only here", err)
    assert "Traceback" not in err and not out.exists()
    assert _train(tmp_path, text, "--init", str(tmp_path / "base.pt"), "--out", str(out), "--partial") == 0
    printed = capsys.readouterr().out
    assert re.search(r"fc1 +<- classifier +by order and shape", printed) and "--partial:" in printed
    assert json.loads((out / "config.json").read_text())["run"]["partial"] is True


def test_the_spec_names_its_file_relative_to_its_folder_and_a_resume_keeps_it(tmp_path, capsys, monkeypatch):
    (tmp_path / "weights").mkdir()
    torch.save(Tiny().state_dict(), tmp_path / "weights" / "tiny-base.pt")
    text = TINY.format(classes=10).replace("seed=0", "seed=0 init=weights/tiny-base.pt")
    spec = _spec(tmp_path, text)
    monkeypatch.chdir(tmp_path / "weights")  # not the spec's folder
    out = tmp_path / "run"
    assert main(["train", str(spec), "--data", "synthetic:64", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "loaded 4 tensors into 2 of the spec's 2 layers" in printed
    assert f"init      {tmp_path / 'weights' / 'tiny-base.pt'} (spec line 6)" in printed
    assert main(["train", str(spec), "--resume", str(out), "--epochs", "2", "--quiet"]) == 0
    assert main(["train", str(spec), "--resume", str(out), "--epochs", "3", "--init", "other.pt"]) == 2
    assert "--init " in (err := capsys.readouterr().err) and "a resumed run keeps its hyperparameters" in err


def test_specc_check_takes_a_written_path_and_refuses_others(tmp_path, capsys):
    good = TINY.format(classes=3).replace("seed=0", "seed=0 init=pre-trained/resnet_18.v2.pth")
    assert main(["check", str(_spec(tmp_path, good)), "--quiet"]) == 0
    bad = TINY.format(classes=3).replace("seed=0", "seed=0 init=3")
    assert main(["check", str(_spec(tmp_path, bad)), "--quiet"]) == 1
    assert "must be a path" in capsys.readouterr().out


def test_errors_are_messages_and_nothing_is_written(tmp_path, capsys):
    text = TINY.format(classes=10)
    out = tmp_path / "run"
    cases = []
    cases.append((tmp_path / "missing.pt", 2, "no such file or run folder"))
    torch.save(Tiny(), tmp_path / "pickled.pt")  # a whole module: unpickling it would run code
    cases.append((tmp_path / "pickled.pt", 1, "torch.load(weights_only=True) and never unpickles objects"))
    torch.save({"x.weight": torch.zeros(7, 7)}, tmp_path / "other.pt")
    cases.append((tmp_path / "other.pt", 1, "nothing in the file fits the spec"))
    (tmp_path / "text.pt").write_text("not weights")
    cases.append((tmp_path / "text.pt", 1, "not a PyTorch state dict, safetensors, Keras or specc file"))
    h5py.File(tmp_path / "data.h5", "w").create_dataset("x", data=np.zeros(3))
    cases.append((tmp_path / "data.h5", 1, "an HDF5 file without Keras weights"))
    for file, status, message in cases:
        assert _train(tmp_path, text, "--init", str(file), "--out", str(out)) == status, file
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (file, err)
        assert not out.exists()


def test_a_specc_run_initialises_another_spec(tmp_path, capsys):
    first = tmp_path / "first"
    assert _train(tmp_path, TINY.format(classes=10), "--out", str(first), "--quiet") == 0
    assert _train(tmp_path, TINY.format(classes=4), "--init", str(first), "--out", str(tmp_path / "second")) == 0
    printed = capsys.readouterr().out
    assert "specc checkpoint" in printed and re.search(r"conv1 +<- conv1 +by name", printed)
    assert re.search(r"fc1 +left as initialised: the file's fc1: weight 10x54 \(here 4x54\)", printed)


def test_the_notebook_api_takes_init_and_partial(tmp_path):
    import specc

    torch.save(Tiny(bias=False).state_dict(), tmp_path / "base.pt")
    spec = _spec(tmp_path, TINY.format(classes=10))
    with pytest.raises(specc.SpeccError, match="pass --partial"):
        specc.train(spec, "synthetic:64", init=tmp_path / "base.pt", out=tmp_path / "refused", quiet=True)
    result = specc.train(spec, "synthetic:64", init=tmp_path / "base.pt", partial=True, out=tmp_path / "run",
                         quiet=True)
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["init"]["loaded"] == {"fc1": {"from": "classifier", "by": "order and shape"}}
    with pytest.raises(TypeError, match="partial"):
        specc.train(spec, "synthetic:64", partial="yes")


def test_a_keras_depthwise_kernel_with_a_multiplier_keeps_keras_channel_order(tmp_path):
    rng = np.random.default_rng(5)
    k, b = rng.uniform(-1, 1, (3, 3, 3, 2)).astype(np.float32), rng.uniform(-1, 1, 6).astype(np.float32)
    kd, bd = rng.uniform(-1, 1, (4 * 4 * 6, 4)).astype(np.float32), rng.uniform(-1, 1, 4).astype(np.float32)
    path = tmp_path / "dw.weights.h5"
    with h5py.File(path, "w") as h5:
        for name, variables in {"depthwise_conv2d": [k, b], "dense": [kd, bd]}.items():
            group = h5.create_group(f"layers/{name}/vars")
            for i, value in enumerate(variables):
                group.create_dataset(str(i), data=value)
    analysis = read_ok(_spec(tmp_path, "model dw\ninput 6x6x3\ndwconv 3x3 multiplier=2\nflatten\nfc 4\n"))
    net = instantiate(analysis)
    assert len(load_initial(net, analysis, path, partial=False, origin="--init").loaded) == 2
    x = rng.uniform(0, 1, (2, 6, 6, 3)).astype(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))  # N, 4, 4, C, 3, 3
    y = np.einsum("nhwcij,ijcm->nhwcm", windows, k).reshape(2, 4, 4, 6) + b  # Keras's channel c*M + m
    expected = y.reshape(2, -1) @ kd + bd
    out = _outputs(net, torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)
