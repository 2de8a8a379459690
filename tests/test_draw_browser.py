"""The HTML page of `specc draw --format html` opened in a real headless browser (Debian's chromium).

The DOM after the page's script ran must hold every layer (in the table and
as a box of the drawing on show) and say that the script finished; the
address can ask for a drawing (``#show=only:layer2``) the way a click does.
A screenshot must not be blank. chromium is a test dependency: .ci/run installs
it, and without it these tests fail rather than skip.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from draw_graphs import SYNTHETIC
from PIL import Image

from specc.cli import main
from specc.draw import draw

ROOT = Path(__file__).parent.parent
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium")
    assert binary, "chromium is not installed: `apt-get install -y chromium` (.ci/run does it)"
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=180, check=True)


class _Page(HTMLParser):
    """What the dumped DOM holds: body attributes, the drawings with their boxes, the table rows."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str | None] = {}
        self.states: dict[str, dict] = {}
        self.rows: list[str] = []
        self._divs: list[str | None] = []

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "div":
            self._divs.append(a.get("data-state"))
            if a.get("data-state"):
                self.states[a["data-state"]] = {"hidden": "hidden" in a, "nodes": set()}
        elif tag == "g" and "data-node" in a:
            state = next((s for s in reversed(self._divs) if s), None)
            self.states[state]["nodes"].add(a["data-node"])
        elif tag == "tr" and "data-layer" in a:
            self.rows.append(a["data-layer"])

    def handle_endtag(self, tag) -> None:
        if tag == "div" and self._divs:
            self._divs.pop()


def dom(tmp_path: Path, page: Path, fragment: str = "") -> _Page:
    parsed = _Page()
    parsed.feed(chromium(tmp_path, "--dump-dom", page.as_uri() + fragment).stdout)
    return parsed


def test_spec_page_runs_and_holds_every_layer(tmp_path: Path) -> None:
    spec = tmp_path / "lenet5.cnn"
    spec.write_text((ROOT / "specs" / "lenet5.cnn").read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["draw", str(spec), "--format", "html"]) == 0
    page = dom(tmp_path, tmp_path / "lenet5.html")
    layers = ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3"]
    assert page.body.get("data-ready") == "yes", "the page's script did not finish"
    assert page.rows == layers
    shown = [s for s in page.states.values() if not s["hidden"]]
    assert len(shown) == 1 and shown[0]["nodes"] == {"input", *layers}


def test_blocks_expand_in_place(tmp_path: Path) -> None:
    graph = SYNTHETIC["resnet"]()
    html = tmp_path / "resnet.html"
    html.write_text(draw(graph, "html"), encoding="utf-8")
    layers = {n.id for n in graph.nodes}
    folded = dom(tmp_path, html)
    assert folded.body.get("data-shown") == "collapsed" and folded.body.get("data-ready") == "yes"
    assert set(folded.rows) == layers
    assert folded.states["collapsed"]["nodes"] == {"input", "stem", "layer1", "layer2", "layer3", "layer4", "pool",
                                                   "fc"}
    opened = dom(tmp_path, html, "#expand=layer2")  # what a click on the collapsed layer2 does
    assert opened.body.get("data-shown") == "only:layer2"
    assert [name for name, s in opened.states.items() if not s["hidden"]] == ["only:layer2"]
    inside = {n.id for n in graph.nodes if (n.block or "").startswith("layer2.")}
    assert inside <= opened.states["only:layer2"]["nodes"] and "layer3" in opened.states["only:layer2"]["nodes"]
    everything = dom(tmp_path, html, "#show=expanded")
    assert everything.states["expanded"]["nodes"] == {"input"} | layers
    assert not everything.states["expanded"]["hidden"]


@pytest.mark.parametrize("fragment", ["", "#show=only:layer3"])
def test_screenshot_is_not_blank(tmp_path: Path, fragment: str) -> None:
    html = tmp_path / "resnet.html"
    html.write_text(draw(SYNTHETIC["resnet"](), "html"), encoding="utf-8")
    png = tmp_path / "shot.png"
    chromium(tmp_path, "--window-size=1000,800", "--hide-scrollbars", f"--screenshot={png}", html.as_uri() + fragment)
    with Image.open(png) as image:
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20)
        pixels = rgb.width * rgb.height
    assert colours is not None and len(colours) > 50, "the page looks blank or flat"
    white = sum(count for count, colour in colours if colour == (255, 255, 255))
    assert white < 0.97 * pixels
