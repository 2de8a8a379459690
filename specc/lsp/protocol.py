"""pygls' LSP protocol, with an answer for every request and only open documents changed.

pygls drops a request whose params do not fit the method's types (a
position's `line` of "a", -1 or 2^31, null params, none at all) after logging
it: the client then waits forever. Here such a request is answered with
JSON-RPC's Invalid params error (-32602), naming what was wrong, and a
notification with bad params is logged and ignored. A change to a document
the client never opened is ignored too (pygls raises a KeyError): the client
owns the open documents, and the server serves only those.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from ..record import NamedTuple

log = logging.getLogger("specc.lsp")


class Refused(NamedTuple):
    """A message that does not fit its method: a request is answered with ``error``, a notification dropped."""

    id: int | str | None
    request: bool
    error: JsonRpcException


class SpeccProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" not in data or "method" not in data or "error" in data:  # a nested object, or a response
            return super().structure_message(data)
        method, request = data.get("method"), "id" in data
        said = "request" if request else "notification"
        if not isinstance(method, str):  # pygls would take it, then fail to name it in its error
            log.error("specc server: %s whose method %.80r is not a string", said, method)
            return Refused(_id(data.get("id")), request, JsonRpcInvalidRequest("method is not a string"))
        # An unknown method is structured as pygls does, and answered "Method Not Found" by it.
        kind = self.get_message_type(method) or (JsonRPCRequestMessage if request else JsonRPCNotification)
        try:
            return self._converter.structure(data, kind)
        except Exception as exc:  # noqa: BLE001 - cattrs raises many kinds; each means "does not fit"
            reason = _reason(exc)
            log.error("specc server: %s %r with params that do not fit: %s", said, method, reason)
            return Refused(_id(data.get("id")), request, JsonRpcInvalidParams(f"invalid params for {method}: {reason}"))

    def handle_message(self, message: Any) -> None:
        if isinstance(message, Refused):
            if message.request:
                # JSON-RPC answers null for an id it cannot read; pygls' annotation leaves null out, its code sends it.
                self._send_response(message.id, error=message.error.to_response_error())  # type: ignore[arg-type]
            return
        if isinstance(message, dict):  # an object without "jsonrpc": nothing to answer, or to answer to
            log.error("specc server: dropped an object that is not a JSON-RPC message: %.80r", message)
            return
        super().handle_message(message)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        if unquote(params.text_document.uri) not in self.workspace.text_documents:
            log.warning("specc server: ignored a change to %s, which is not open", params.text_document.uri)
            return
        yield from super().lsp_text_document__did_change(params)


def _id(value: Any) -> int | str | None:
    """The request's id if JSON-RPC allows it (a string or a number), else null, as JSON-RPC answers."""
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def _reason(exc: Exception) -> str:
    """cattrs' first leaf error, in one line: `line: invalid value for type, expected int`."""
    while inner := getattr(exc, "exceptions", None):  # an ExceptionGroup's (cattrs' ClassValidationError)
        exc = inner[0]
    notes = getattr(exc, "__notes__", None) or []
    said = f"missing {exc}" if isinstance(exc, KeyError) else (str(exc).splitlines() or [type(exc).__name__])[0]
    return "".join(f"{note}: " for note in notes[:1]) + said[:200]
