"""`specc server`: the language server (pygls), speaking LSP over stdio.

Every open document is checked with one call of the check pipeline (the same
rules [tool.specc] picks for the file on the command line) and its diagnostics
published; inlay hints, hover, definition and completion answer from that
Analysis (:mod:`specc.lsp.features`, :mod:`specc.lsp.complete`). This module
wires requests to those functions and converts positions between code points
and the client's units.

The server stays up and answers whatever arrives:

- it serves only the documents the client opened (it never reads a file for
  a request: a FIFO or /dev/zero would hang it); anything else gets an empty
  answer;
- edits are applied as they come, and a document is re-checked once the edits
  waiting in the input are applied (a burst of 200 edits costs one check, not
  200); a request checks the latest text first;
- a document over MAX_DOCUMENT characters is not checked, and a check that
  fails becomes one diagnostic asking to report it: never a dead server;
- the input's framing and malformed requests are handled by
  :mod:`specc.lsp.framing` and :mod:`specc.lsp.protocol`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from ..analysis import Analysis
from ..errors import SpeccError, described
from ..pipeline import analyse_text
from ..source import enabled_rules
from ..syntax import lines as source_lines
from ..version import __version__
from . import complete, features
from .framing import FramedReader
from .protocol import SpeccProtocol

MAX_DOCUMENT = 4 * 2**20  # characters: 40 times the largest example spec; a check's memory grows with the text
WAIT = 0.02  # seconds between looks at the input while edits are still arriving
MAX_DELAY = 0.5  # seconds the diagnostics may wait behind input that keeps coming
log = logging.getLogger("specc.lsp")
Handler = TypeVar("Handler", bound=Callable[..., Any])


@dataclass(frozen=True)
class Checked:
    """A document's text as last checked, its Analysis, and why it could not be checked (if so)."""

    text: str
    analysis: Analysis
    problem: str | None = None


class SpeccServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("specc", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
                         protocol_cls=SpeccProtocol)
        self.checked: dict[str, Checked] = {}
        self.stale: set[str] = set()  # open documents edited since their last check
        self.reader: FramedReader | None = None
        self.told: set[str] = set()  # configuration problems already shown, so that typing does not repeat them
        self._catching_up: asyncio.Handle | None = None
        self._waiting_since: float | None = None

    def document(self, uri: str) -> TextDocument | None:
        """An open document: the client owns them, and nothing else is read."""
        return self.workspace.text_documents.get(unquote(uri))

    def analysis(self, uri: str) -> tuple[Analysis, TextDocument] | None:
        """The Analysis of an open document's current text (checked, and published, if the text changed)."""
        doc = self.document(uri)
        if doc is None:
            return None
        cached = self.checked.get(uri)
        if cached is None or cached.text != doc.source:
            cached = self._check(doc)
            self.checked[uri] = cached
            self.publish(uri, cached, doc)
        self.stale.discard(uri)
        return cached.analysis, doc

    def changed(self, uri: str) -> None:
        """An edit was applied: check once the edits already waiting in the input are applied too."""
        self.stale.add(uri)
        if self._catching_up is None:
            self._catching_up = asyncio.get_running_loop().call_soon(self._catch_up)

    def _catch_up(self) -> None:
        self._catching_up = None
        now = time.monotonic()
        self._waiting_since = self._waiting_since or now
        if self.reader is not None and self.reader.pending() and now - self._waiting_since < MAX_DELAY:
            self._catching_up = asyncio.get_running_loop().call_later(WAIT, self._catch_up)
            return
        self._waiting_since = None
        for uri in list(self.stale):
            self.analysis(uri)

    def _check(self, doc: TextDocument) -> Checked:
        text, path = doc.source, _file_path(doc.uri)
        name = path or doc.uri
        if len(text) > MAX_DOCUMENT:
            return Checked(text, Analysis(name, text, None), f"specc does not check a file of {len(text):,} "
                           f"characters in the editor (at most {MAX_DOCUMENT:,}); run `specc check` on it")
        try:
            return Checked(text, analyse_text(text, name, rules=self._rules(path)))
        except Exception as exc:  # noqa: BLE001 - a checker bug must not take the editor's server down
            log.exception("specc server: checking %s failed", doc.uri)
            return Checked(text, Analysis(name, text, None), f"specc could not check this file: internal error "
                           f"({described(exc)}); please report it with the file")

    def _rules(self, path: str | None) -> frozenset[str] | None:
        """The rules [tool.specc] picks for a file (a document that is no file: the defaults)."""
        try:
            return enabled_rules(Path(path)) if path else None
        except SpeccError as exc:  # a broken [tool.specc]: say so once, lint with the defaults meanwhile
            if exc.message not in self.told:
                self.told.add(exc.message)
                self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"specc: {exc.message}"))
        except (OSError, ValueError) as exc:  # a path the system refuses (a NUL in it, too long)
            log.warning("specc server: no [tool.specc] for %s: %s", path, exc)
        return None

    def publish(self, uri: str, checked: Checked, doc: TextDocument) -> None:
        analysis = checked.analysis
        found = features.diagnostics(analysis, uri, self._client_shows_related())
        for d in found:  # code points -> the client's units (UTF-16 unless it chose otherwise)
            d.range = _out(analysis, doc, d.range)
            for info in d.related_information or ():
                info.location.range = d.range
        if checked.problem is not None:
            start = types.Position(0, 0)
            found.append(types.Diagnostic(types.Range(start, start), checked.problem, types.DiagnosticSeverity.Error,
                                          source=features.SOURCE))
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, found, doc.version))

    def _client_shows_related(self) -> bool:
        text = self.client_capabilities.text_document
        publish = text.publish_diagnostics if text else None
        return bool(publish and publish.related_information)


def _file_path(uri: str) -> str | None:
    """The local file a `file:` URI names (its [tool.specc] applies); None for `untitled:` and the like."""
    return to_fs_path(uri) if urlsplit(uri).scheme == "file" else None


def answering(handler: Handler) -> Handler:
    """A request handler whose failure is a JSON-RPC error saying so in one line (the traceback goes to the log)."""
    @functools.wraps(handler)
    def answer(ls: SpeccServer, params: Any) -> Any:
        try:
            return handler(ls, params)
        except Exception as exc:  # noqa: BLE001 - a bug must still get the client an answer
            raise JsonRpcInternalError(f"specc server: internal error ({described(exc)}); please report it") from exc
    return answer  # type: ignore[return-value]


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
    ls.checked.pop(params.text_document.uri, None)  # opened again: publish even if the text is the same
    ls.analysis(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: SpeccServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.changed(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: SpeccServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.stale.discard(params.text_document.uri)
    if ls.checked.pop(params.text_document.uri, None) is not None:  # its diagnostics leave with it
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(params.text_document.uri, []))


@server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
@answering
def inlay_hint(ls: SpeccServer, params: types.InlayHintParams) -> list[types.InlayHint]:
    if (found := ls.analysis(params.text_document.uri)) is None:
        return []
    analysis, doc = found
    hints = features.inlay_hints(analysis, params.range.start.line, params.range.end.line)
    lines = _lines(analysis)
    for hint in hints:
        hint.position = doc.position_codec.position_to_client_units(lines, hint.position)
    return hints


@server.feature(types.TEXT_DOCUMENT_HOVER)
@answering
def hover(ls: SpeccServer, params: types.HoverParams) -> types.Hover | None:
    if (checked := ls.analysis(params.text_document.uri)) is None:
        return None
    analysis, doc = checked
    found = features.hover(analysis, _in(analysis, doc, params.position)[0])
    if found is not None and found.range is not None:
        found.range = _out(analysis, doc, found.range)
    return found


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
@answering
def definition(ls: SpeccServer, params: types.DefinitionParams) -> types.Location | None:
    if (checked := ls.analysis(params.text_document.uri)) is None:
        return None
    analysis, doc = checked
    found = features.definition(analysis, *_in(analysis, doc, params.position))
    return None if found is None else types.Location(params.text_document.uri, _out(analysis, doc, found))


@server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=["="]))
@answering
def completion(ls: SpeccServer, params: types.CompletionParams) -> types.CompletionList:
    if (checked := ls.analysis(params.text_document.uri)) is None:
        return types.CompletionList(is_incomplete=False, items=[])
    analysis, doc = checked
    items = complete.complete(analysis, *_in(analysis, doc, params.position))
    return types.CompletionList(is_incomplete=False, items=items)


def serve() -> None:
    """Serve one client over stdin and stdout until it says exit."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")  # pygls closes it at exit; the CLI still flushes stdout
    real, sys.stdout = sys.stdout, sys.stderr  # a stray print must never corrupt the protocol stream
    server.reader = FramedReader(sys.stdin.buffer)
    try:
        # pygls asks for a BinaryIO but reads only readline() and read(n), which FramedReader gives.
        server.start_io(server.reader, out)  # type: ignore[arg-type]
    finally:
        sys.stdout = real
