"""DrawGraph -> one HTML file: the drawing with pan and zoom, the check table and totals.

Self-contained: inline style and script, no request to the network, so it
opens from a mail attachment or an air-gapped machine. Blocks expand in
place: the page holds the drawing with every top-level block collapsed, with
all expanded, and with each single top-level block expanded (up to
:data:`MAX_SINGLES` of them); clicking a collapsed block shows the drawing with
it expanded, clicking an expanded block's frame folds it again. ``#show=STATE``
in the address opens a given drawing (``#show=expanded``, ``#show=only:layer3``), and
``#expand=PATH`` does what a click on the collapsed block PATH does.
"""

from __future__ import annotations

from html import escape

from .drawing import Drawing, lay_out
from .model import DrawGraph
from .style import num
from .svg import render as svg

MAX_SINGLES = 40  # one extra drawing per top-level block: beyond this the page would grow too large

_STYLE = """
body{font:14px/1.4 Helvetica,Arial,'DejaVu Sans',sans-serif;margin:16px;color:#0f172a}
h1{font-size:20px;margin:0 0 8px}
.bar button{margin-right:6px}
#view{border:1px solid #cbd5e1;border-radius:6px;height:72vh;overflow:hidden;cursor:grab;background:#fff}
#view>div{height:100%}
#view svg{width:100%;height:100%;display:block}
table{border-collapse:collapse;margin-top:16px}
td,th{border-bottom:1px solid #e2e8f0;padding:2px 10px;text-align:left}
td.n,th.n{text-align:right}
"""

_SCRIPT = r"""
(function () {
  var states = Array.prototype.slice.call(document.querySelectorAll('[data-state]'));
  var current = null, drag = null;
  function find(name) { return states.filter(function (s) { return s.dataset.state === name; })[0]; }
  function svgOf(state) { return state.querySelector('svg'); }
  function box(svg) { return svg.getAttribute('viewBox').split(' ').map(Number); }
  function show(name) {
    var target = find(name) || states[0];
    states.forEach(function (s) { s.hidden = s !== target; });
    current = target;
    document.body.dataset.shown = target.dataset.state;
  }
  function expand(path) { show(find('only:' + path) ? 'only:' + path : 'expanded'); }
  function fit() { var s = svgOf(current); s.setAttribute('viewBox', s.dataset.home); }
  function zoom(f, cx, cy) {
    var s = svgOf(current), b = box(s);
    if (cx === undefined) { cx = b[0] + b[2] / 2; cy = b[1] + b[3] / 2; }
    s.setAttribute('viewBox', [cx - (cx - b[0]) * f, cy - (cy - b[1]) * f, b[2] * f, b[3] * f].join(' '));
  }
  function point(s, e) {
    // viewBox units per pixel, and the margins that 'meet' leaves on the roomier side
    var r = s.getBoundingClientRect(), b = box(s), k = Math.max(b[2] / r.width, b[3] / r.height);
    var ox = (r.width - b[2] / k) / 2, oy = (r.height - b[3] / k) / 2;
    return [b[0] + (e.clientX - r.left - ox) * k, b[1] + (e.clientY - r.top - oy) * k, k];
  }
  states.forEach(function (state) {
    var s = svgOf(state);
    s.dataset.home = s.getAttribute('viewBox');
    s.removeAttribute('width'); s.removeAttribute('height');
    s.addEventListener('click', function (e) {
      if (drag && drag.moved) return;
      var node = e.target.closest('[data-kind="block"]');
      if (node) { expand(node.dataset.path); return; }
      var frame = e.target.closest('[data-block],[data-frame-title]');
      if (frame && find('collapsed')) show('collapsed');
    });
  });
  var view = document.getElementById('view');
  view.addEventListener('wheel', function (e) {
    e.preventDefault();
    var p = point(svgOf(current), e);
    zoom(e.deltaY > 0 ? 1.15 : 1 / 1.15, p[0], p[1]);
  }, {passive: false});
  view.addEventListener('pointerdown', function (e) { drag = {x: e.clientX, y: e.clientY, moved: false}; });
  view.addEventListener('pointermove', function (e) {
    if (!drag || !e.buttons) return;
    var s = svgOf(current), b = box(s), k = point(s, e)[2];
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
    s.setAttribute('viewBox', [b[0] - dx * k, b[1] - dy * k, b[2], b[3]].join(' '));
    drag.x = e.clientX; drag.y = e.clientY;
  });
  document.querySelectorAll('[data-action]').forEach(function (button) {
    button.addEventListener('click', function () {
      var a = button.dataset.action;
      if (a === 'fit') fit(); else if (a === 'in') zoom(1 / 1.25); else if (a === 'out') zoom(1.25); else show(a);
    });
  });
  var wanted = /^#(show|expand)=(.+)$/.exec(decodeURIComponent(location.hash));
  if (wanted && wanted[1] === 'expand') expand(wanted[2]);
  else show(wanted ? wanted[2] : document.body.dataset.initial);
  document.body.dataset.ready = 'yes';
})();
"""


def _states(graph: DrawGraph, direction: str) -> list[tuple[str, str]]:
    """(name, svg) for every drawing the page can show, each drawn as soon as it is laid out (one
    layout in memory at a time, not one per state)."""
    tops = [b.path for b in graph.blocks if b.parent is None]
    wanted: list[tuple[str, bool, frozenset[str]]] = [("expanded", False, frozenset())]
    if tops:
        wanted.append(("collapsed", True, frozenset()))
    if len(tops) <= MAX_SINGLES:
        wanted += [(f"only:{t}", True, frozenset({t})) for t in tops]
    return [(name, _drawn(lay_out(graph, direction, collapsed, keep))) for name, collapsed, keep in wanted]


def _drawn(d: Drawing) -> str:
    return svg(d.graph, d.layout, d.nodes)


def _params(box) -> str:
    """A row's parameters; ``shares e1`` where they are another's (`share=`)."""
    return num(box.params) if box.shares is None else escape(f"shares {box.shares}")


def _table(graph: DrawGraph) -> str:
    head = "".join(f'<th class="n">{h}</th>' if h in ("params", "MACs", "line") else f"<th>{h}</th>"
                   for h in ("layer", "kind", "inputs", "output", "params", "MACs", "RF", "block", "line"))
    rows = []
    for n in graph.nodes:
        rf = "" if n.receptive_field is None else "x".join(map(str, n.receptive_field))
        rows.append(f'<tr data-layer="{escape(n.id)}"><td>{escape(n.label)}</td><td>{escape(n.kind)}</td>'
                    f"<td>{escape(', '.join(n.inputs))}</td><td>{escape(n.shape_text)}</td>"
                    f'<td class="n">{_params(n)}</td><td class="n">{num(n.macs)}</td><td>{rf}</td>'
                    f'<td>{escape(n.block or "")}</td><td class="n">{n.line}</td></tr>')
    blocks = "".join(f'<tr data-block-row="{escape(b.path)}"><td>{escape(b.path)}</td><td>block</td><td></td>'
                     f'<td>{escape(b.shape_text)}</td><td class="n">{_params(b)}</td>'
                     f'<td class="n">{num(b.macs)}</td><td></td><td>{escape(b.parent or "")}</td>'
                     f'<td class="n">{b.line}</td></tr>' for b in graph.blocks)
    return f'<table id="check"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}{blocks}</tbody></table>'


def render(graph: DrawGraph, direction: str = "TB", collapsed: bool = False) -> str:
    states = _states(graph, direction)
    initial = "collapsed" if collapsed and any(n == "collapsed" for n, _ in states) else "expanded"
    buttons = ['<button data-action="fit">fit</button>', '<button data-action="in">+</button>',
               '<button data-action="out">&minus;</button>']
    if len(states) > 1:
        buttons += ['<button data-action="expanded">expand all</button>',
                    '<button data-action="collapsed">collapse all</button>']
    totals = " · ".join(f"{escape(k)} {num(v)}" for k, v in graph.totals)
    title = escape(graph.name)
    parts = [f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
             f'<meta name="viewport" content="width=device-width, initial-scale=1">'
             f"<title>{title}: specc draw</title><style>{_STYLE}</style></head>\n"
             f'<body data-initial="{initial}"><h1>{title}</h1>'
             f'<p>{escape(_inputs(graph))}{" · " + totals if totals else ""}</p>'
             f'<p class="bar">{"".join(buttons)} drag to pan, wheel to zoom; click a block to expand or fold it</p>'
             f'<div id="view">\n']
    for index, (name, text) in enumerate(states):
        hidden = "" if name == initial else " hidden"
        parts += ["\n" if index else "", f'<div data-state="{escape(name)}"{hidden}>', text, "</div>"]
    parts.append(f'\n</div>\n{_table(graph)}\n<script>{_SCRIPT}</script>\n</body></html>\n')
    return "".join(parts)  # one copy of the drawings, not one per step of the page


def _inputs(graph: DrawGraph) -> str:
    """``input 32x32x3``, or ``inputs a 96x96x3, b 96x96x3`` for several."""
    if not graph.inputs:
        return f"input {graph.input_shape_text}"
    return "inputs " + ", ".join(f"{name} {shape}" for name, shape in graph.inputs)
