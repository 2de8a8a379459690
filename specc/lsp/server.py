"""`specc server`: the language server (pygls), speaking LSP over stdio.

Every open document is re-checked on each change with one call of the check
pipeline (the same rules [tool.specc] picks for the file on the command line)
and its diagnostics published; inlay hints, hover, definition and completion
answer from that Analysis (:mod:`specc.lsp.features`, :mod:`specc.lsp.complete`).
This module only wires requests to those functions and converts positions
between code points and the client's units.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from .. import __version__
from ..errors import SpeccError
from ..pipeline import Analysis, analyse_text
from ..source import enabled_rules
from ..syntax import lines as source_lines
from . import complete, features


@dataclass(frozen=True)
class Checked:
    """A document's text as last checked, and its Analysis."""

    text: str
    analysis: Analysis


class SpeccServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("specc", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.checked: dict[str, Checked] = {}
        self.told: set[str] = set()  # configuration problems already shown, so that typing does not repeat them

    def analysis(self, uri: str) -> tuple[Analysis, TextDocument]:
        """The Analysis of a document's current text (checked again only if the text changed)."""
        doc = self.workspace.get_text_document(uri)
        cached = self.checked.get(uri)
        if cached is None or cached.text != doc.source:
            cached = Checked(doc.source, self._check(doc))
            self.checked[uri] = cached
        return cached.analysis, doc

    def _check(self, doc: TextDocument) -> Analysis:
        path = doc.path or doc.uri
        try:
            rules = enabled_rules(Path(path))
        except SpeccError as exc:  # a broken [tool.specc]: say so once, lint with the defaults meanwhile
            if exc.message not in self.told:
                self.told.add(exc.message)
                self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"specc: {exc.message}"))
            rules = None
        return analyse_text(doc.source, path, rules=rules)

    def publish(self, uri: str) -> None:
        analysis, doc = self.analysis(uri)
        found = features.diagnostics(analysis, uri, self._client_shows_related())
        for d in found:  # code points -> the client's units (UTF-16 unless it chose otherwise)
            d.range = _out(analysis, doc, d.range)
            for info in d.related_information or ():
                info.location.range = d.range
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, found, doc.version))

    def _client_shows_related(self) -> bool:
        text = self.client_capabilities.text_document
        publish = text.publish_diagnostics if text else None
        return bool(publish and publish.related_information)


def _lines(analysis: Analysis) -> list[str]:
    return source_lines(analysis.source)


def _out(analysis: Analysis, doc: TextDocument, rng: types.Range) -> types.Range:
    return doc.position_codec.range_to_client_units(_lines(analysis), rng)


def _in(analysis: Analysis, doc: TextDocument, position: types.Position) -> tuple[int, int]:
    found = doc.position_codec.position_from_client_units(_lines(analysis), position)
    return found.line, found.character


server = SpeccServer()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: SpeccServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.publish(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: SpeccServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.publish(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: SpeccServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.checked.pop(params.text_document.uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(params.text_document.uri, []))


@server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
def inlay_hint(ls: SpeccServer, params: types.InlayHintParams) -> list[types.InlayHint]:
    analysis, doc = ls.analysis(params.text_document.uri)
    hints = features.inlay_hints(analysis, params.range.start.line, params.range.end.line)
    lines = _lines(analysis)
    for hint in hints:
        hint.position = doc.position_codec.position_to_client_units(lines, hint.position)
    return hints


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: SpeccServer, params: types.HoverParams) -> types.Hover | None:
    analysis, doc = ls.analysis(params.text_document.uri)
    found = features.hover(analysis, _in(analysis, doc, params.position)[0])
    if found is not None and found.range is not None:
        found.range = _out(analysis, doc, found.range)
    return found


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: SpeccServer, params: types.DefinitionParams) -> types.Location | None:
    analysis, doc = ls.analysis(params.text_document.uri)
    found = features.definition(analysis, *_in(analysis, doc, params.position))
    return None if found is None else types.Location(params.text_document.uri, _out(analysis, doc, found))


@server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=["="]))
def completion(ls: SpeccServer, params: types.CompletionParams) -> types.CompletionList:
    analysis, doc = ls.analysis(params.text_document.uri)
    return types.CompletionList(is_incomplete=False, items=complete.complete(analysis, *_in(analysis, doc,
                                                                                             params.position)))


def serve() -> None:
    """Serve one client over stdin and stdout until it says exit."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")  # pygls closes it at exit; the CLI still flushes stdout
    real, sys.stdout = sys.stdout, sys.stderr  # a stray print must never corrupt the protocol stream
    try:
        server.start_io(sys.stdin.buffer, out)
    finally:
        sys.stdout = real
