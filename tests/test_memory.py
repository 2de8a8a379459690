"""The training-memory estimate (specc.infer.training_memory) against what torch really keeps.

The oracle: a training step's own tensors, counted as torch holds them. A
``saved_tensors_hooks`` pack hook sees every tensor autograd keeps for
backward in the forward pass and specc train's loss, counted once per storage
(its address and size; parameters and buffers are the estimate's
`parameters`), and after one optimizer step the gradients and the optimizer's
state are summed tensor by tensor. The documented tolerance is 5%
(docs/language.md, "Training memory").
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from graph_strategies import graph_specs
from hypothesis import HealthCheck, given, settings
from rank_strategies import rank_specs
from strategies import specs
from twins import channels_first, single_threaded

import specc
from specc.infer.training_memory import estimate
from specc.training.config import TrainConfig
from specc.training.loop import optimizer as make_optimizer

SPECS = Path(__file__).parent.parent / "specs"
TOLERANCE = 0.05
BATCH = 3  # odd, and more than one: what is kept per batch and per sample cannot be confused
RANDOM = settings(deadline=None, max_examples=40, report_multiple_bugs=False,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))


def saved_by_autograd(analysis: specc.Analysis, net: torch.nn.Module, batch: int) -> tuple[int, torch.Tensor]:
    """Bytes of the distinct storages autograd keeps for one training step's backward, and the loss."""
    own = {t.untyped_storage().data_ptr() for t in net.state_dict().values()}
    saved: dict[tuple[int, int], int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in own:
            saved[storage.data_ptr(), storage.nbytes()] = storage.nbytes()
        return t

    xs = [torch.randn(channels_first(tuple(i.shape), batch)) for i in analysis.model.inputs]  # every input, in order
    task = _task(analysis)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        if task is None:  # several outputs: no task's loss yet; a sum keeps nothing for backward
            out = net.logits(*xs)
            loss = sum(o.sum() for o in out)
        else:
            out = net.logits(*xs) if task.reads_logits else net(*xs)
            loss = task.loss(out, _targets(task, batch))
    return sum(saved.values()), loss


def _task(analysis: specc.Analysis):
    """The task specc train would train the spec for, as it settles it (None for several outputs)."""
    from specc.errors import SpeccError
    from specc.training.setup import spec_io
    from specc.training.tasks import resolve
    from specc.training.tasks.classify import Classify

    if len(analysis.model.outputs) > 1:
        return None
    train, io = analysis.model.train, spec_io(analysis)
    try:
        return resolve(io, train.get("task"), train.get("loss"), 0.2)[0]
    except SpeccError:  # an output no task reads (a 1-D or 3-D map): the estimate counts a flattened classifier
        return Classify(io)


def _targets(task, batch: int) -> torch.Tensor:
    """Targets of the task's kind: classes (two identities for embed), masks, values."""
    if task.name == "segment":
        return torch.zeros(batch, *task.io.output[:2], dtype=torch.long)
    if task.name == "regress":
        return torch.zeros(batch, task.outputs)
    return torch.arange(batch) % 2 if task.name == "embed" else torch.zeros(batch, dtype=torch.long)


def measured(analysis: specc.Analysis, batch: int, optimizer: str) -> dict[str, int]:
    torch.manual_seed(0)
    net = specc.build(analysis).train()
    opt = make_optimizer(net, TrainConfig(optimizer=optimizer), 100)
    activations, loss = saved_by_autograd(analysis, net, batch)
    loss.backward()
    opt.step()
    state = [v for per_param in opt.state.values() for v in per_param.values()]
    return {"parameters": _tensor_bytes(net.state_dict().values()),
            "gradients": _tensor_bytes(p.grad for p in net.parameters()),
            "optimizer_state": _tensor_bytes(state), "activations": activations}


def assert_activations_match(text: str, batch: int = BATCH) -> int:
    analysis = specc.check(text, "generated.cnn")
    assert analysis.ok, [d.message for d in analysis.errors]
    torch.manual_seed(0)
    with single_threaded():
        real, _ = saved_by_autograd(analysis, specc.build(analysis).train(), batch)
    guess = estimate(analysis, batch).activations
    assert abs(guess - real) <= TOLERANCE * real, (guess, real)
    return guess


@pytest.mark.parametrize("spec, optimizer", [
    ("lenet5.cnn", "adam"), ("digits.cnn", "sgd"), ("mlp.cnn", "momentum"), ("allconv.cnn", "rmsprop"),
    ("mobilenet-block.cnn", "adam"), ("signs.cnn", "adam"),
])
def test_the_estimate_matches_what_a_training_step_keeps(spec: str, optimizer: str) -> None:
    analysis = specc.check(SPECS / spec)
    real = measured(analysis, 4, optimizer)
    guess = estimate(analysis, 4, optimizer)
    assert guess.gradients == real["gradients"]
    assert abs(guess.parameters - real["parameters"]) <= 0.01 * real["parameters"]  # + batchnorm's int64 counters
    assert guess.optimizer_state <= real["optimizer_state"] <= guess.optimizer_state * 1.01 + 64
    assert abs(guess.activations - real["activations"]) <= TOLERANCE * real["activations"], (guess, real)
    assert abs(guess.total - sum(real.values())) <= TOLERANCE * sum(real.values())


# Every example, yolov3-tiny's two heads too: with several outputs no loss is counted (none is defined yet).
@pytest.mark.parametrize("spec", sorted(p.name for p in SPECS.glob("*.cnn")))
def test_every_example_keeps_what_autograd_keeps(spec: str) -> None:
    """Residual adds, inception concats, U-Net skips, squeeze-excitation: the kept tensors follow the edges."""
    assert_activations_match((SPECS / spec).read_text(encoding="utf-8"))


BRANCHES = """input 16x16x3
a: conv 8 3x3 p=same
b: conv 8 3x3 p=same silu
c: conv 8 3x3 p=same from={}
add b
fc 10
"""


def test_where_a_layer_reads_from_changes_what_is_kept() -> None:
    # from=a: a's output is kept once for b and c; from=b: c keeps b's result too (silu keeps its own input).
    from_a, from_b = assert_activations_match(BRANCHES.format("a")), assert_activations_match(BRANCHES.format("b"))
    assert from_b - from_a == 4 * BATCH * 16 * 16 * 8


def test_a_tensor_read_by_several_layers_is_kept_once() -> None:
    one_reader = assert_activations_match("input 8x8x3\na: conv 4 3x3 relu\nb: conv 4 1x1\nfc 2\n")
    three_readers = assert_activations_match("input 8x8x3\na: conv 4 3x3 relu\nb: conv 4 1x1\n"
                                             "c: conv 4 1x1 from=a\nd: conv 4 1x1 from=a\nadd b c d\nfc 2\n")
    assert three_readers == one_reader  # a once for b, c and d; add keeps none of its operands


def test_a_branch_the_output_does_not_depend_on_keeps_nothing() -> None:
    """The generated forward does not compute a layer nothing reads (W104), nor what only it reads:
    the estimate counted 216 bytes for this spec where autograd keeps none (hypothesis found it)."""
    assert_activations_match("input 3x3x1\nt1: relu\nt2: conv 1 1x1 relu\nt3: conv 1 3x3 p=same from=t1\n"
                             "t4: maxpool 3 s=1 p=same from=t1\nconcat t1 t2 t3 t4\nconcat input t1\n")


def test_a_called_block_computes_its_own_output_even_where_only_a_label_is_read() -> None:
    # hypothesis found it: the caller reads t1.b1 only, but t1's class still computes b2, b3 and its concat
    # (autograd keeps 784 bytes where the estimate said 460)
    assert_activations_match("input 3x3x1\nt1: incep0 1 b=1\nconcat input t1.b1\nblock incep0(a, b) {\n"
                             "    b1: conv a 1x1 relu\n    conv b 1x1 relu from=in\n    b2: conv b 3x3 p=same\n"
                             "    maxpool 3x3 s=1 p=same from=in\n    b3: conv a 1x1 relu\n    concat b1 b2 b3\n}\n")


@settings(RANDOM)
@given(graph_specs())
def test_generated_graphs_keep_what_autograd_keeps(spec) -> None:
    """Blocks, `repeat=`, `from=`, residual adds, concats and squeeze-excitation multiplies."""
    assert_activations_match(spec.text)


@settings(RANDOM)
@given(specs())
def test_generated_stacks_keep_what_autograd_keeps(spec) -> None:
    assert_activations_match(spec.text)


@settings(RANDOM)
@given(rank_specs())
def test_generated_1d_and_3d_stacks_keep_what_autograd_keeps(spec) -> None:
    assert_activations_match(spec.text)


def test_activations_grow_with_the_batch_and_the_optimizer_comes_from_the_spec() -> None:
    analysis = specc.check("input 8x8x1\nconv 4 3 relu\nfc 2 softmax\ntrain optimizer=sgd\n")
    one, two, eight = estimate(analysis, 1), estimate(analysis, 2), estimate(analysis, 8)
    per_sample = two.activations - one.activations  # the rest is per batch: the loss's weight
    assert per_sample > 0 and eight.activations - one.activations == 7 * per_sample
    assert one.optimizer == "sgd" and one.optimizer_state == 0
    assert estimate(analysis, 1, "adam").optimizer_state == 2 * one.gradients


@pytest.mark.parametrize("norm", ["batchnorm", "layernorm", "instancenorm"])
def test_a_spec_with_errors_gets_an_estimate_where_its_channels_are_unknown(norm: str) -> None:
    # The maxpool on a vector (E203) leaves the channels unknown; `specc check --batch` raised a TypeError
    # in the norm after it (mypy found it). Unknown values count 0, as everywhere in the estimate.
    analysis = specc.check(f"input 28x28x1\nflatten\nfc 10\nmaxpool 2\n{norm}\nfc 10\n")
    assert not analysis.ok
    assert estimate(analysis, 8).activations >= 0


@pytest.mark.parametrize("line", ["avgpool out=1", "avgpool out=2", "maxpool out=1"])
def test_adaptive_pooling_keeps_its_input_unless_it_averages_to_one_value(line: str) -> None:
    # hypothesis found it: `avgpool out=1` is torch's mean, which keeps nothing (the estimate said 120, autograd 84)
    for head in ("input 3x1 layout=lc\nbatchnorm\n", "input 4x4x2\nbatchnorm\n"):
        assert_activations_match(f"{head}{line}\n")


def test_rounded_up_pooling_in_1d_keeps_its_input_not_a_padded_copy() -> None:
    # hypothesis found it: with round=up the generated code pads inside the pooling (196 estimated, 172 kept)
    assert_activations_match("input 3x1 layout=lc\nconv 1 1 p=same\nmaxpool 2 p=1 round=up\n")
    assert_activations_match("input 5x5x5x1\nconv 1 1x1x1\navgpool 2x2x2 p=1 round=up\n")


@pytest.mark.parametrize("text", [
    "input 12x12x3\nconv 8 3x3 p=same relu\nconv 4 1x1\n",  # segment: a label per pixel
    "input 12x12x3\nconv 8 3x3 relu\nfc 3 sigmoid\ntrain task=regress\n",  # the output after its activation
    "input 12x12x3\nconv 8 3x3 relu\nfc 3\ntrain task=regress loss=huber\n",
    "input 12x12x3\nconv 8 3x3 relu\nfc 16\ntrain task=embed\n",  # triplet: batch² distances
    "a: input 8x8x1\nb: input 8x8x1\ne1: conv 4 3x3 from=a\nflatten\nf1: fc 8\ne2: conv 4 3x3 from=b share=e1\n"
    "flatten\nf2: fc 8 share=f1\nsubtract f1 f2\nabs\nfc 1 sigmoid\ntrain task=embed\n",  # a pair: bce
])
@pytest.mark.parametrize("batch", [3, 8])
def test_each_tasks_loss_keeps_what_autograd_keeps(text: str, batch: int) -> None:
    assert_activations_match(text, batch)


def test_a_vectors_reshape_is_a_view_that_later_layers_keep_as_the_vectors_tensor() -> None:
    """Hypothesis found it: a global max pool kept the reshape of a relu's result, one storage in torch."""
    assert_activations_match("input 1\nfc 2 bias=false\nlayerscale 1e-06\nactivation relu\nreshape 1x1x2\n"
                             "globalmaxpool\n")
