"""`specc draw` on the command line, the golden SVGs, and the dot and Mermaid texts.

The golden drawings (tests/golden/draw, rewritten only by
tests/update_golden_draw.py) pin the SVG of every example spec byte for byte.
dot and Mermaid are checked for structure: one node per layer, one edge per
input, a cluster or subgraph per block, nested as the blocks are.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from draw_graphs import SYNTHETIC
from update_golden_draw import branching_drawings, drawing, golden_path

from specc.cli import main
from specc.draw import draw

ROOT = Path(__file__).parent.parent
SPECS = sorted((ROOT / "specs").glob("*.cnn"))
LENET = (ROOT / "specs" / "lenet5.cnn").read_text(encoding="utf-8")


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_golden_drawing_is_up_to_date(spec: Path) -> None:
    text = drawing(spec)
    if text is None:
        assert not golden_path(spec).exists()
        return
    golden = golden_path(spec)
    assert golden.is_file(), f"no golden drawing for {spec.name}: run `python tests/update_golden_draw.py`"
    assert golden.read_text(encoding="utf-8") == text, "run `python tests/update_golden_draw.py` and review"


def test_golden_branching_drawings_are_up_to_date() -> None:
    for golden, text in branching_drawings().items():
        assert golden.is_file(), f"no {golden.name}: run `python tests/update_golden_draw.py`"
        assert golden.read_text(encoding="utf-8") == text, "run `python tests/update_golden_draw.py` and review"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


def spec_file(folder: Path, text: str = LENET, name: str = "net.cnn") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_default_output_is_an_svg_beside_the_spec(tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    status, out, _ = run("draw", str(spec))
    assert status == 0 and out == ""
    svg = tmp_path / "net.svg"
    assert svg.read_text(encoding="utf-8").startswith("<svg ")
    assert oct(svg.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.cnn", "net.svg"]  # no temporary file left


@pytest.mark.parametrize("fmt, suffix, start", [("html", ".html", "<!DOCTYPE html>"), ("dot", ".dot", "digraph"),
                                                ("mermaid", ".mmd", "flowchart TB")])
def test_format_picks_the_default_suffix(tmp_path: Path, fmt: str, suffix: str, start: str) -> None:
    spec = spec_file(tmp_path)
    assert run("draw", str(spec), "--format", fmt)[0] == 0
    assert (tmp_path / f"net{suffix}").read_text(encoding="utf-8").startswith(start)


def test_output_suffix_picks_the_format_and_dash_prints(tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    assert run("draw", str(spec), "-o", str(tmp_path / "pic.dot"))[0] == 0
    assert (tmp_path / "pic.dot").read_text(encoding="utf-8").startswith("digraph")
    status, out, _ = run("draw", str(spec), "-o", "-", "--direction", "LR", "--format", "mermaid")
    assert status == 0 and out.startswith("flowchart LR")


def test_existing_file_is_replaced_and_keeps_its_mode(tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    old = tmp_path / "net.svg"
    old.write_text("old", encoding="utf-8")
    old.chmod(0o640)
    assert run("draw", str(spec))[0] == 0
    assert old.read_text(encoding="utf-8").startswith("<svg ") and old.stat().st_mode & 0o777 == 0o640


def test_spec_with_errors_prints_diagnostics_and_writes_nothing(tmp_path: Path) -> None:
    spec = spec_file(tmp_path, "input 8x8x1\nconv 4 9x9\n")
    status, out, err = run("draw", str(spec))
    assert status == 1 and out == ""
    assert "error[E201]" in err and "net.cnn:2:" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.cnn"]


@pytest.mark.parametrize("output", ["net.cnn", "other.cnn"])
def test_never_writes_over_a_spec(tmp_path: Path, output: str) -> None:
    spec = spec_file(tmp_path)
    status, _, err = run("draw", str(spec), "-o", str(tmp_path / output))
    assert status == 2 and ".cnn" in err
    assert spec.read_text(encoding="utf-8") == LENET and not (tmp_path / "other.cnn").exists()


def test_spec_named_like_its_drawing_is_not_replaced(tmp_path: Path) -> None:
    spec = spec_file(tmp_path, name="net.svg")
    status, _, err = run("draw", str(spec))
    assert status == 2 and "spec itself" in err and spec.read_text(encoding="utf-8") == LENET


def test_unwritable_places_are_reported_not_traced(tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    status, _, err = run("draw", str(spec), "-o", str(tmp_path))
    assert status == 2 and "is a folder" in err
    status, _, err = run("draw", str(spec), "-o", str(tmp_path / "missing" / "x.svg"))
    assert status == 2 and "cannot write" in err and "Traceback" not in err


def test_missing_spec_is_a_usage_error(tmp_path: Path) -> None:
    status, _, err = run("draw", str(tmp_path / "nope.cnn"))
    assert status == 2 and "nope.cnn" in err


def test_stdin_prints_to_stdout() -> None:
    process = subprocess.run([sys.executable, "-m", "specc", "draw", "-", "--format", "dot"], input=LENET,
                             capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.returncode == 0 and process.stdout.startswith('digraph "lenet5" {')


def test_draw_never_imports_torch(tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    code = ("import sys; from specc.cli import main; "
            f"assert main(['draw', {str(spec)!r}, '--format', 'html']) == 0; "
            "heavy = [m for m in ('torch', 'numpy', 'onnx') if m in sys.modules]; assert not heavy, heavy")
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.returncode == 0, process.stderr


def _dot_structure(text: str) -> tuple[set[str], list[tuple[str, str]], list[str]]:
    nodes = set(re.findall(r'^\s*"([^"]+)" \[label=', text, re.M))
    edges = re.findall(r'^\s*"([^"]+)" -> "([^"]+)";$', text, re.M)
    clusters = re.findall(r'subgraph "cluster_([^"]+)" \{', text)
    return nodes, edges, clusters


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_dot_has_every_node_edge_and_cluster(name: str) -> None:
    graph = SYNTHETIC[name]()
    text = draw(graph, "dot", "LR", False)
    nodes, edges, clusters = _dot_structure(text)
    assert nodes == {"input"} | {n.id for n in graph.nodes}
    assert sorted(edges) == sorted((i, n.id) for n in graph.nodes for i in n.inputs)
    assert sorted(clusters) == sorted(b.path for b in graph.blocks)
    assert "rankdir=LR;" in text and text.count("{") == text.count("}")
    depth = 0
    for line in text.splitlines():  # every node sits inside the clusters of its block, and only those
        depth += line.count("{") - line.count("}")
        match = re.match(r'\s*"([^"]+)" \[label=', line)
        if match and match.group(1) != "input":
            block = next(n.block for n in graph.nodes if n.id == match.group(1))
            assert depth == 1 + (block.count(".") + 1 if block else 0)


def test_dot_quotes_awkward_labels() -> None:
    from draw_graphs import Builder

    b = Builder()
    b.add('say "hi"\\', "conv")
    text = draw(b.graph('a "net"'), "dot")
    assert 'digraph "a \\"net\\"" {' in text and '"say \\"hi\\"\\\\" [label=' in text


def _mermaid_structure(text: str):
    labels = dict(re.findall(r'^\s*(n\d+)\["([^"]*)"\]$', text, re.M))
    edges = re.findall(r"^\s*(n\d+) --> (n\d+)$", text, re.M)
    subgraphs = re.findall(r'^\s*subgraph (b\d+)\["([^"]*)"\]$', text, re.M)
    return labels, edges, subgraphs


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_mermaid_has_every_node_edge_and_subgraph(name: str) -> None:
    graph = SYNTHETIC[name]()
    text = draw(graph, "mermaid", "TB", False)
    labels, edges, subgraphs = _mermaid_structure(text)
    ids = {label.split("<br/>")[0]: key for key, label in labels.items()}
    assert set(ids) == {"input"} | {n.id for n in graph.nodes}
    assert sorted(edges) == sorted((ids[i], ids[n.id]) for n in graph.nodes for i in n.inputs)
    assert [title.split(" · ")[0] for _, title in subgraphs] == [b.path for b in _preorder(graph)]
    opened = sum(1 for line in text.splitlines() if line.strip().startswith("subgraph "))
    assert opened == sum(1 for line in text.splitlines() if line.strip() == "end") == len(graph.blocks)


def _preorder(graph):
    children = {}
    for block in graph.blocks:
        children.setdefault(block.parent, []).append(block)

    def walk(parent):
        for block in children.get(parent, []):
            yield block
            yield from walk(block.path)

    return list(walk(None))


def test_mermaid_escapes_syntax_in_labels() -> None:
    from draw_graphs import Builder

    b = Builder()
    b.add('x"]-->[y', "conv")
    text = draw(b.graph("m"), "mermaid")
    labels, _, _ = _mermaid_structure(text)
    assert labels["n1"].startswith("x#34;#93;--#62;#91;y<br/>")


def test_html_page_fetches_nothing_and_holds_table_and_totals() -> None:
    graph = SYNTHETIC["resnet"]()
    page = draw(graph, "html")
    without_namespace = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for banned in ("http://", "https://", "src=", "<link", "@import", "url(", "fetch(", "XMLHttpRequest"):
        assert banned not in without_namespace, banned
    assert page.count("<script>") == 1 and page.startswith("<!DOCTYPE html>")
    assert re.findall(r'<tr data-layer="([^"]+)"', page) == [n.id for n in graph.nodes]
    assert "params 2,299,048" in page
    states = re.findall(r'<div data-state="([^"]+)"', page)
    assert states == ["expanded", "collapsed"] + [f"only:{b.path}" for b in graph.blocks if b.parent is None]


def test_collapse_and_expand_flags(tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    assert run("draw", str(spec), "--collapse", "-o", "-")[0] == 0  # no blocks: the same drawing
    with pytest.raises(SystemExit) as exit_info, redirect_stderr(io.StringIO()):
        main(["draw", str(spec), "--collapse", "--expand"])
    assert exit_info.value.code == 2
    status, out, _ = run("draw", str(spec), "--expand", "-o", "-", "--format", "html")
    assert status == 0 and 'data-initial="expanded"' in out
