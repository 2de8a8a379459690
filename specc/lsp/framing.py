"""LSP's framing, read defensively: `Content-Length: N`, a blank line, then N bytes of JSON.

pygls' own loop trusts every header: a length of 99999999999 asks for that
much memory at once, and a length that is wrong, negative or not a number
loses the message boundaries for good. :class:`FramedReader` stands between
stdin and that loop and hands it only messages it has framed itself, under a
header of its own, so pygls always reads a well-formed stream:

- a length over MAX_MESSAGE is never allocated: its body is dropped a chunk
  at a time;
- a header that is not `Content-Length: <digits>` is dropped, and so is
  everything up to the next `Content-Length:`;
- a body that holds a header line (`Content-Length: 12` and a line break,
  which no JSON text can hold: JSON strings hold no raw line break) had a
  wrong length: it is cut there, and the message that follows is kept;
- a body that is not a JSON object is dropped.

Each problem is one line on stderr (the editor's log of the server); the
connection goes on.
"""

from __future__ import annotations

import json
import logging
import re
import select
from typing import BinaryIO

MAX_MESSAGE = 64 * 2**20  # far above any real document (an editor sends a file's whole text at most)
MAX_HEADER = 8 * 2**10  # header lines longer than this are not headers
CHUNK = 2**16
MARKER = b"Content-Length:"
_LINE_END = re.compile(rb"\r?\n")
_HEADERS_END = re.compile(rb"\r?\n\r?\n")
_LENGTH = re.compile(rb"Content-Length:[ \t]*(\S*)[ \t]*")
_FIELD = re.compile(rb"[A-Za-z][A-Za-z0-9-]*:[^\r\n]*")
# A header line inside a body: proof that the body's length was wrong (JSON text cannot contain it).
_HEADER_LINE = re.compile(rb"Content-Length:[ \t]*[0-9]{1,20}[ \t]*\r?\n")
_OVERLAP = 64  # bytes of the previous chunk searched again, for a header line split across reads

log = logging.getLogger("specc.lsp")


class FramedReader:
    """stdin as pygls reads it (``readline``, ``read``), re-framed message by message.

    Each message is handed out as its header line, a blank line and its body;
    pygls reads them one at a time, from one thread at a time.
    """

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self._read = getattr(source, "read1", source.read)  # what is there now, up to CHUNK: never blocks for more
        self._buffer = bytearray()
        self._lines: list[bytes] = []
        self._body = b""
        self._ended = False

    def readline(self) -> bytes:
        if not self._lines and not self._body:
            body = self._next_message()
            if body is None:
                return b""
            self._lines, self._body = [b"Content-Length: %d\r\n" % len(body), b"\r\n"], body
        return self._lines.pop(0) if self._lines else self._take_body()

    def read(self, size: int = -1) -> bytes:
        return self._take_body()

    def _take_body(self) -> bytes:
        body, self._body = self._body, b""
        return body

    def pending(self) -> bool:
        """Whether more input is already waiting (a guess from another thread: good enough to wait for it)."""
        if self._lines or self._body or self._buffer.strip():
            return True
        try:
            return bool(select.select([self._source], [], [], 0)[0])
        except (OSError, ValueError, TypeError):  # no file descriptor, or a pipe select cannot watch (Windows)
            return False

    def _fill(self) -> bool:
        """Read what the client has sent so far into the buffer; False at the end of the input."""
        if self._ended:
            return False
        data = self._read(CHUNK)
        if not data:
            self._ended = True
            return False
        self._buffer += data
        return True

    def _next_message(self) -> bytes | None:
        """The next well-framed JSON object's bytes, or None at the end of the input."""
        while True:
            length = self._header()
            if length is None:
                return None
            body = self._body_of(length)
            if body is not None and _is_object(body):
                return body
            if body is not None:
                log.error("specc server: dropped a message that is not a JSON object (%d bytes)", len(body))

    def _header(self) -> int | None:
        """Skip to the next well-formed header and read it: the length it gives, or None at the end of the input."""
        while self._skip_to_marker():
            end = _HEADERS_END.search(self._buffer, 0, MAX_HEADER)
            if end is None and len(self._buffer) < MAX_HEADER:  # the header's end is still to come
                if not self._fill():
                    return None
                continue
            if end is not None and (length := _length(bytes(self._buffer[:end.start()]))) is not None:
                del self._buffer[:end.end()]
                return length
            log.error("specc server: skipped a bad message header %r", _LINE_END.split(self._buffer[:80])[0])
            del self._buffer[:len(MARKER)]  # and look for the next one
        return None

    def _skip_to_marker(self) -> bool:
        """Drop the buffer's bytes before the next `Content-Length:` (saying so if they were not blank)."""
        skipped = 0
        while True:
            at = self._buffer.find(MARKER)
            if at >= 0:
                skipped += len(self._buffer[:at].strip())
                del self._buffer[:at]
                break
            keep = len(MARKER) - 1  # the start of a marker split across two reads
            if len(self._buffer) > keep:
                skipped += len(self._buffer[:-keep].strip())
                del self._buffer[:-keep]
            if not self._fill():
                return False
        if skipped:
            log.error("specc server: skipped %d bytes that were not part of a message", skipped)
        return True

    def _body_of(self, length: int) -> bytes | None:
        """The next ``length`` bytes, cut short at a header line they hold; None for a body too large to keep."""
        kept = length <= MAX_MESSAGE
        if not kept:
            log.error("specc server: dropped a message of %d bytes (at most %d are read)", length, MAX_MESSAGE)
        body, seen = bytearray(), 0  # dropped: only the last _OVERLAP bytes, to find a header line in
        while seen < length and (self._buffer or self._fill()):
            take = self._buffer[:length - seen]
            del self._buffer[:len(take)]
            seen += len(take)
            start = max(len(body) - _OVERLAP, 0)
            body += take
            cut = _HEADER_LINE.search(body, start)
            if cut is not None:  # the next message starts inside this one: this one's length was wrong
                returned = len(body) - cut.start()
                self._buffer[:0] = body[cut.start():]
                del body[cut.start():]
                log.error("specc server: a message was shorter than its Content-Length (%d): the next one began "
                          "after %d bytes", length, seen - returned)
                break
            if not kept:
                del body[:-_OVERLAP]
        return bytes(body) if kept else None


def _length(block: bytes) -> int | None:
    """The length a header block gives, if it is `Content-Length: <digits>` and well-formed fields."""
    lines = _LINE_END.split(block)
    match = _LENGTH.fullmatch(lines[0])
    if match is None or not match.group(1).isdigit() or len(match.group(1)) > 20:
        return None
    if not all(_FIELD.fullmatch(line) for line in lines[1:]):
        return None
    return int(match.group(1)) or None


def _is_object(body: bytes) -> bool:
    """Whether a body is one JSON object: anything else, pygls could only fail on (and say so with a traceback)."""
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past Python's stack
        return False
