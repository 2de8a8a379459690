"""`specc server` under hostile or broken input: it answers every request, never reads a
file the client did not open, survives bad framing, and coalesces bursts of edits.

The client here writes raw bytes to the server's stdin, so that framing can be
broken on purpose; the server runs under a 2 GB address-space limit, so that a
regression fails fast instead of eating the machine. Every wait is bounded.
"""

from __future__ import annotations

import io
import json
import os
import queue
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from specc.lsp import framing
from specc.lsp.framing import FramedReader

TIMEOUT = 20.0  # seconds for any one answer: a hang fails the test, it never blocks the run
LENET = "input 32x32x3\nconv1: conv 8 5x5 relu\nmaxpool 2x2\nfc 10 softmax\n"
STARTER = [sys.executable, "-m", "specc", "server"]


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))


class RawClient:
    """An LSP client that frames its own messages (or deliberately does not)."""

    def __init__(self, command: list[str] = STARTER) -> None:
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, preexec_fn=_limit_memory)
        self.received: queue.Queue[dict] = queue.Queue()
        self.notifications: list[dict] = []
        self.stderr = b""
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self.next_id = 0
        self.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        self.notify("initialized", {})

    def _read(self) -> None:
        out = self.process.stdout
        while True:
            header = out.readline()
            if not header:
                return
            if header.startswith(b"Content-Length:"):
                length = int(header.split(b":")[1])
                while out.readline().strip():
                    pass
                self.received.put(json.loads(out.read(length)))

    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr += line

    def send_raw(self, data: bytes) -> None:
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: dict) -> None:
        body = json.dumps(message).encode()
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any = None, *, omit_params: bool = False) -> dict:
        """Send a request and return its whole response (result or error), notifications kept aside."""
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if not omit_params:
            message["params"] = params
        self.send(message)
        return self.response(self.next_id)

    def response(self, wanted: int) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                message = self.received.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no answer to request {wanted} in {TIMEOUT} s; the server is "
                                     f"{'alive' if self.process.poll() is None else 'dead'}") from None
            if message.get("id") == wanted and "method" not in message:
                return message
            self.notifications.append(message)

    def published(self, uri: str) -> list[dict]:
        """The publishDiagnostics notifications for ``uri`` received so far, in order."""
        self.drain()
        return [m["params"] for m in self.notifications
                if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri]

    def drain(self) -> None:
        while not self.received.empty():
            self.notifications.append(self.received.get())

    def open(self, uri: str, text: str) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "cnn", "version": 1,
                                                              "text": text}})

    def hover(self, uri: str, line: int, character: int = 0) -> dict:
        return self.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                   "position": {"line": line, "character": character}})

    def still_serves(self) -> None:
        """A document opened now is checked and hovered as usual."""
        uri = f"file:///nowhere/alive{self.next_id}.cnn"
        self.open(uri, LENET)
        found = self.hover(uri, 1, 10)
        assert "**conv1**" in found["result"]["contents"]["value"], found

    def still_serves_completion(self, uri: str) -> None:
        found = self.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                         "position": {"line": 4, "character": 0}})
        assert "conv" in {item["label"] for item in found["result"]["items"]}, found

    def close(self) -> None:
        try:
            self.request("shutdown")
            self.notify("exit", None)
            self.process.wait(timeout=TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def client():
    found = RawClient()
    yield found
    found.close()


def position_requests(uri: str) -> list[tuple[str, dict, Any]]:
    """Every position request the server answers, each with the empty answer for a document it does not serve."""
    where = {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}
    span = {"start": {"line": 0, "character": 0}, "end": {"line": 9, "character": 0}}
    return [("textDocument/hover", where, None), ("textDocument/definition", where, None),
            ("textDocument/completion", where, {"isIncomplete": False, "items": []}),
            ("textDocument/inlayHint", {"textDocument": {"uri": uri}, "range": span}, [])]


def test_requests_about_documents_never_opened_read_nothing_and_answer_empty(client: RawClient,
                                                                              tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.cnn")  # reading it would block the server for good
    (tmp_path / "folder.cnn").mkdir()
    (tmp_path / "binary.cnn").write_bytes(b"\xff\xfe\x00\x01" * 100)
    (tmp_path / "real.cnn").write_text(LENET)  # even a readable spec is not the server's to read
    uris = [(tmp_path / name).as_uri() for name in ("fifo.cnn", "folder.cnn", "binary.cnn", "real.cnn")]
    uris += ["file:///dev/zero", "file:///nowhere/missing.cnn", "untitled:Untitled-1", "file:///a%00b.cnn"]
    for uri in uris:
        for method, params, empty in position_requests(uri):
            answer = client.request(method, params)
            assert answer.get("result", "no result") == empty and "error" not in answer, (uri, method, answer)
    client.still_serves()


def test_changes_and_closes_of_documents_never_opened_are_ignored(client: RawClient) -> None:
    uri = "file:///nowhere/never.cnn"
    edit = {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "x"}
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [edit]})
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.still_serves()
    shown = [m for m in client.notifications if m.get("method") == "window/showMessage"]
    assert not shown  # pygls said "Error in server: KeyError"
    assert not client.published(uri)  # and nothing is published for a document the client never opened


def test_every_request_with_params_that_do_not_fit_gets_an_invalid_params_error(client: RawClient) -> None:
    uri = "file:///nowhere/params.cnn"
    client.open(uri, LENET)
    for position in ({"line": "a", "character": 0}, {"line": -1, "character": 0}, {"line": 0, "character": -1},
                     {"line": 2**31, "character": 0}, None):
        answer = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": position})
        assert answer["error"]["code"] == -32602, answer
        assert "position" in answer["error"]["message"].lower() or "line" in answer["error"]["message"]
    for answer in (client.request("textDocument/hover", None), client.request("textDocument/hover", omit_params=True),
                   client.request("textDocument/definition", [1, 2])):
        assert answer["error"]["code"] == -32602 and "data" not in answer["error"], answer
    far = client.hover(uri, 2**31 - 1, 2**31 - 1)  # the largest position LSP allows: answered, empty
    assert far.get("result", "no result") is None, far
    client.still_serves()


def test_a_request_for_an_unknown_method_or_a_method_not_a_string_gets_an_error(client: RawClient) -> None:
    # Both went unanswered (an AttributeError while reading them), and the client waited forever.
    unknown = client.request("specc/noSuchMethod", {"a": 1})
    assert unknown["error"]["code"] == -32601 and "specc/noSuchMethod" in unknown["error"]["message"], unknown
    client.next_id += 1
    client.send({"jsonrpc": "2.0", "id": client.next_id, "method": 5, "params": {}})
    numbered = client.response(client.next_id)
    assert numbered["error"] == {"code": -32600, "message": "method is not a string"}, numbered
    client.notify("specc/noSuchNotification", {})
    client.still_serves()
    assert not [m for m in client.notifications if m.get("method") == "window/showMessage"]


@pytest.mark.parametrize("attack", [
    pytest.param(b"Content-Length: 99999999999\r\n\r\n{}", id="huge length"),
    pytest.param(b'Content-Length: 5\r\n\r\n{"jsonrpc": "2.0", "method": "initialized", "params": {}}',
                 id="length too short"),
    pytest.param(b'Content-Length: -5\r\n\r\n{"jsonrpc": "2.0", "method": "x"}', id="negative length"),
    pytest.param(b'Content-Length: abc\r\n\r\n{"jsonrpc": "2.0", "method": "x"}', id="length not a number"),
    pytest.param(b"not a header at all\r\n\r\n", id="junk"),
    pytest.param(b"Content-Length: 9\r\n\r\n[1, 2, 3]", id="not an object"),
    pytest.param(b'Content-Length: 9\r\n\r\n{"id": 1}', id="not JSON-RPC"),
])
def test_the_stream_recovers_after_bad_framing(client: RawClient, attack: bytes) -> None:
    client.send_raw(attack)
    client.still_serves()
    assert client.process.poll() is None
    assert not [m for m in client.notifications if m.get("method") == "window/showMessage"]  # "Error in server"


def test_a_length_longer_than_the_body_loses_only_that_message(client: RawClient) -> None:
    body = json.dumps({"jsonrpc": "2.0", "method": "initialized", "params": {}}).encode()
    client.send_raw(b"Content-Length: %d\r\n\r\n" % (len(body) + 500) + body)  # then the next request at once
    client.still_serves()  # answered without waiting for 500 more bytes


def run_with(patch: str) -> RawClient:
    """A server with ``patch`` applied to specc.lsp.server (as ``s``) before it serves."""
    code = f"import specc.lsp.server as s\n{patch}\ns.serve()"
    return RawClient([sys.executable, "-c", code])


def test_a_checker_failure_becomes_a_diagnostic_and_the_server_goes_on() -> None:
    patch = ("real = s.analyse_text\n"
             "def analyse_text(text, *args, **kwargs):\n"
             "    if 'boom' in text:\n"
             "        raise RecursionError('maximum recursion depth exceeded')\n"
             "    return real(text, *args, **kwargs)\n"
             "s.analyse_text = analyse_text")
    client = run_with(patch)
    try:
        uri = "file:///nowhere/boom.cnn"
        client.open(uri, "input 8x8x1\n# boom\nfc 10\n")
        answer = client.hover(uri, 2)
        assert answer.get("result", "no result") is None, answer  # no layers to show: an empty answer
        (published,) = client.published(uri)
        (problem,) = published["diagnostics"]
        assert "internal error (RecursionError" in problem["message"] and "report" in problem["message"]
        client.still_serves()
    finally:
        client.close()


def test_a_request_the_server_fails_on_gets_a_one_line_internal_error() -> None:
    patch = ("def hover(*args):\n"
             "    raise ValueError('a bug in hover')\n"
             "s.features.hover = hover")
    client = run_with(patch)
    try:
        uri = "file:///nowhere/bug.cnn"
        client.open(uri, LENET)
        error = client.hover(uri, 1)["error"]
        assert error["code"] == -32603 and error.get("data") is None  # pygls put the traceback in `data`
        assert error["message"] == "specc server: internal error (ValueError: a bug in hover); please report it"
        client.still_serves_completion(uri)
    finally:
        client.close()


def test_a_document_too_large_to_check_gets_one_diagnostic_instead() -> None:
    client = run_with("s.MAX_DOCUMENT = 1000")
    try:
        uri = "file:///nowhere/large.cnn"
        text = LENET + "# padding\n" * 200
        client.open(uri, text)
        assert client.hover(uri, 1, 10).get("result", "no result") is None
        (published,) = client.published(uri)
        (problem,) = published["diagnostics"]
        assert f"{len(text):,} characters" in problem["message"] and "at most 1,000" in problem["message"]
        client.still_serves()
    finally:
        client.close()


def test_a_burst_of_edits_is_checked_far_fewer_times_and_ends_on_the_final_text(client: RawClient) -> None:
    uri = "file:///nowhere/burst.cnn"
    body = "".join(f"conv 4 3x3 padding=same relu  # line {i}\n" for i in range(1500))
    client.open(uri, f"input 16x16x1\n{body}fc 10 softmax\n")
    client.hover(uri, 0)  # the first check is done
    edits = 200
    for version in range(2, edits + 2):  # type `x` at the start of line 1, one keystroke at a time
        at = {"line": 1, "character": version - 2}
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                 "contentChanges": [{"range": {"start": at, "end": at},
                                                                     "text": "x"}]})
    assert "error" not in client.hover(uri, 2, 2)  # a request checks the final text first
    deadline = time.monotonic() + TIMEOUT
    while client.published(uri)[-1]["version"] != edits + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    published = client.published(uri)
    assert len(published) < edits / 10, len(published)  # one check per burst, not one per edit
    last = published[-1]
    assert last["version"] == edits + 1
    (typo,) = [d for d in last["diagnostics"] if d["code"] == "E101"]
    assert typo["range"]["start"]["line"] == 1 and typo["message"].startswith(f"unknown statement `{'x' * edits}conv")


class Trickle(io.RawIOBase):
    """A stream that gives at most ``step`` bytes per read, as a pipe may: headers split across reads."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step = data, step

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        taken, self.data = self.data[:self.step], self.data[self.step:]
        return taken


def framed(message: dict, length: int | str | None = None) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %s\r\n\r\n" % str(len(body) if length is None else length).encode() + body


def ids_read(data: bytes, step: int) -> list[int]:
    """The ids of the messages pygls would read from ``data``, through the FramedReader."""
    reader, found = FramedReader(Trickle(data, step)), []
    while header := reader.readline():
        assert reader.readline() == b"\r\n"
        found.append(json.loads(reader.read(int(header.split(b":")[1])))["id"])
    return found


def message(number: int, padding: int = 0) -> dict:
    return {"jsonrpc": "2.0", "id": number, "method": "x", "params": {"pad": "Content-Length: 7 " * padding}}


@pytest.mark.parametrize("step", [1, 7, 4096])
@pytest.mark.parametrize(("broken", "kept"), [
    (framed(message(9), 5), []),  # too short: the rest of its body is skipped
    (framed(message(9), "-5"), []),
    (framed(message(9), "abc"), []),
    (framed(message(9), 99999999999), []),  # never allocated; the next header ends it
    (framed(message(9, 40), len(framed(message(9, 40))) + 300), [9]),  # too long: cut where the next one begins
    (b"Content-Length: 3\r\n\r\n[1]", []),
    (b"Content-Length: 0\r\n\r\n", []),
    (b"junk\r\n\r\n" + b"x" * 20_000, []),
    (framed(message(9, 40)), [9]),  # a header's words inside a JSON string are data
])
def test_the_reader_frames_every_good_message_around_a_broken_one(broken: bytes, kept: list[int], step: int) -> None:
    assert ids_read(framed(message(1)) + broken + framed(message(2)) + framed(message(3)), step) == [1, *kept, 2, 3]


def test_a_message_over_the_limit_is_dropped_a_chunk_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(framing, "MAX_MESSAGE", 1000)
    big = framed(message(9, 200))  # 3,800 bytes, well framed
    assert ids_read(framed(message(1)) + big + framed(message(2)), 100) == [1, 2]
