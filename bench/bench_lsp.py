"""Benchmark: how long `specc server` takes to answer an edit, as an editor sees it.

Run: python bench/bench_lsp.py [--edits 30]

A real client (pygls) starts `specc server` over stdio, opens a spec, then
sends edits one at a time (the whole text plus a new comment line, as a
didChange) and times each until its publishDiagnostics arrives; then the
inlay hints of the whole document. Beside it, the check alone in-process
(the same pipeline call the server makes). Specs: LeNet-5, VGG-16 and a
generated 1,000-layer stack. Targets: under 50 ms per edit for the example
specs (a keystroke's budget), the server adding at most 20 ms to the
check itself at any size, and the re-check of a 200-line spec under 10 ms
(issue 16). Medians; not a test: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent


def stack(layers: int) -> str:
    body = "\n".join("conv 8 3x3 padding=same relu" if i % 2 else "batchnorm" for i in range(layers))
    return f"input 32x32x3\n{body}\nfc 10 softmax\n"


SPECS = {"lenet5": (ROOT / "specs" / "lenet5.cnn").read_text(), "vgg16": (ROOT / "specs" / "vgg16.cnn").read_text(),
         "resnet50": (ROOT / "specs" / "resnet50.cnn").read_text(), "200 lines": stack(198),
         "1,000 layers": stack(1000)}


async def measure(name: str, text: str, edits: int) -> tuple[float, float]:
    client = LanguageClient("bench", "1")
    published: asyncio.Queue = asyncio.Queue()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        published.put_nowait(params.version)

    await client.start_io(sys.executable, "-m", "specc", "server")
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    uri = f"file:///bench/{name.replace(' ', '_').replace(',', '')}.cnn"
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "cnn", 0, text)))
    await published.get()
    times = []
    for version in range(1, edits + 1):
        edited = f"{text}# edit {version}\n"  # a new text to check, the same network
        start = time.perf_counter()
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(text=edited)]))
        while await published.get() != version:
            pass
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    await client.text_document_inlay_hint_async(types.InlayHintParams(
        types.TextDocumentIdentifier(uri), types.Range(types.Position(0, 0), types.Position(len(text), 0))))
    hints = time.perf_counter() - start
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return statistics.median(times), hints


def check_alone(text: str, repeat: int) -> float:
    from specc.pipeline import analyse_text

    times = []
    for version in range(repeat):
        start = time.perf_counter()
        analyse_text(f"{text}# edit {version}\n", "/bench/spec.cnn")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=30)
    args = parser.parse_args()
    print(f"specc server: edit -> diagnostics published (median of {args.edits}); inlay hints of the document")
    for name, text in SPECS.items():
        edit, hints = asyncio.run(measure(name, text, args.edits))
        alone = check_alone(text, args.edits)
        print(f"  {name:<14} {text.count(chr(10)):>5} lines   edit {edit * 1000:7.1f} ms   "
              f"(check alone {alone * 1000:6.1f} ms)   hints {hints * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
