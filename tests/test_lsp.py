"""`specc server` end to end: a real LSP client (pytest-lsp) talks to the server over stdio.

Each test opens its own document; positions are LSP's (0-based, UTF-16 for
this client). The figures are the ones `specc check` prints for the same text.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from specc import check

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "specc", "server"])
LENET = "input 32x32x3\nconv1: conv 8 5x5 relu      # -> 28x28x8 😋\nmaxpool 2x2\nfc 10 softmax\n"
# A branching spec as ../shared/spec-graphs.md writes them: today's checker rejects its statements,
# but navigation reads the text and must already work.
GRAPH = """input 56x56x64
block identity_block(f1, f2, f=3) {
main:   conv f1 1x1
        conv f2 f p=same
        add main
        conv f2 1x1 from=in
}
stem:   conv 64 7x7 s=2
        identity_block 64 64 f=3
        add stem
"""


@pytest_lsp.fixture(scope="module", config=SERVER)
async def client(lsp_client: LanguageClient):
    params = types.InitializeParams(capabilities=pytest_lsp.client_capabilities("visual-studio-code"))
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


async def open_document(client: LanguageClient, name: str, text: str) -> str:
    uri = f"file:///nowhere/{name}"
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "cnn", 1, text)))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return uri


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri)


def at(line: int, character: int) -> types.Position:
    return types.Position(line, character)


@pytest.mark.asyncio(loop_scope="module")
async def test_diagnostics_on_open_and_on_every_change(client: LanguageClient) -> None:
    uri = await open_document(client, "typo.cnn", "input 8x8x1\ncovn 8 3x3\n")
    (found,) = client.diagnostics[uri]
    assert (found.code, found.source, found.severity) == ("E101", "specc", types.DiagnosticSeverity.Error)
    assert found.range == types.Range(at(1, 0), at(1, 4))
    assert found.message == "unknown statement `covn`"
    assert found.related_information[0].message == "help: did you mean `conv`?"

    change = types.TextDocumentContentChangePartial(range=types.Range(at(1, 0), at(1, 4)), text="conv")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(version=2, uri=uri), [change]))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert not client.diagnostics[uri]  # fixed: the stale E101 is withdrawn


@pytest.mark.asyncio(loop_scope="module")
async def test_inlay_hints_give_each_layer_line_its_output_and_params(client: LanguageClient) -> None:
    uri = await open_document(client, "lenet.cnn", LENET)
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(doc(uri), types.Range(at(0, 0), at(4, 0))))
    assert [(h.position.line, h.label) for h in hints] == [
        (1, "→ 28x28x8 · 608 params"), (2, "→ 14x14x8 · 0 params"), (3, "→ 10 · 15,690 params")]
    line = LENET.splitlines()[1]
    assert hints[0].position.character == len(line) + 1  # the emoji is two UTF-16 units


@pytest.mark.asyncio(loop_scope="module")
async def test_hover_shows_shapes_params_macs_and_receptive_field(client: LanguageClient) -> None:
    uri = await open_document(client, "hover.cnn", LENET)
    found = await client.text_document_hover_async(types.HoverParams(doc(uri), at(1, 10)))
    text = found.contents.value
    for words in ("**conv1**", "| input | 32x32x3 |", "| output | 28x28x8 |", "| params | 608 |",
                  "| MACs | 470,400 |", "| receptive field | 5x5 |"):
        assert words in text
    assert await client.text_document_hover_async(types.HoverParams(doc(uri), at(4, 0))) is None


@pytest.mark.asyncio(loop_scope="module")
async def test_go_to_definition_of_labels_blocks_and_in(client: LanguageClient) -> None:
    uri = await open_document(client, "graph.cnn", GRAPH)

    async def where(line: int, character: int) -> tuple[int, int, int] | None:
        found = await client.text_document_definition_async(types.DefinitionParams(doc(uri), at(line, character)))
        if not found:
            return None
        location = found if isinstance(found, types.Location) else found[0]
        return location.range.start.line, location.range.start.character, location.range.end.character

    assert await where(4, 13) == (2, 0, 4)  # `add main` inside the block -> its `main:` label
    assert await where(9, 13) == (7, 0, 4)  # `add stem` -> `stem:`
    assert await where(8, 12) == (1, 6, 20)  # a call -> `block identity_block(`
    assert await where(5, 26) == (1, 6, 20)  # `from=in` -> the block's definition
    assert await where(9, 9) is None  # the keyword `add` defines nothing


@pytest.mark.asyncio(loop_scope="module")
async def test_completion_of_statements_options_labels_and_blocks(client: LanguageClient) -> None:
    uri = await open_document(client, "complete.cnn", GRAPH + "        \nconv 8 3x3 activation=\nconv 8 3x3 s=2 \n")

    async def labels(line: int, character: int) -> list[str]:
        found = await client.text_document_completion_async(types.CompletionParams(doc(uri), at(line, character)))
        items = found.items if isinstance(found, types.CompletionList) else found
        return [item.label for item in items]

    first = await labels(10, 8)
    assert {"conv", "maxpool", "fc", "dense", "bn", "relu", "identity_block", "block"} <= set(first)
    options = await labels(12, 15)  # `conv 8 3x3 s=2 `: its options but the stride, and bare activations
    assert {"padding=", "p=", "groups=", "bias=", "relu"} <= set(options)
    assert "stride=" not in options and "s=" not in options
    after = await labels(11, 22)  # `activation=`: the values its checker accepts
    assert {"relu", "softmax", "leaky_relu"} <= set(after) and "same" not in after
    operands = await labels(4, 12)  # `add ` inside the block: its labels above, and `in`
    assert {"main", "in"} <= set(operands) and "stem" not in operands
    # a block call: the block's parameters, and share= (a call may share an earlier call's weights)
    assert set(await labels(8, 29)) == {"f1=", "f2=", "f=", "share="}


@pytest.mark.asyncio(loop_scope="module")
async def test_tool_specc_chooses_the_rules_as_on_the_command_line(client: LanguageClient, tmp_path) -> None:
    linear = "input 8x8x1\nconv 4 3x3\nfc 10\n"  # W103: no activation anywhere
    quiet, broken = tmp_path / "quiet", tmp_path / "broken"
    for folder, table in ((quiet, 'ignore = ["W103"]'), (broken, 'select = ["W999"]')):
        folder.mkdir()
        (folder / "pyproject.toml").write_text(f"[tool.specc]\n{table}\n")
    assert [d.code for d in check(linear).diagnostics] == ["W103"]

    uri = (quiet / "net.cnn").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "cnn", 1, linear)))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert not client.diagnostics[uri]

    uri = (broken / "net.cnn").as_uri()  # a bad table: said once, and the defaults lint meanwhile
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "cnn", 1, linear)))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert [d.code for d in client.diagnostics[uri]] == ["W103"]
    change = types.TextDocumentContentChangeWholeDocument(text=linear + "# more\n")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(version=2, uri=uri), [change]))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    told = [m.message for m in client.messages if "W999" in m.message]
    assert len(told) == 1 and "unknown rule `W999`" in told[0]


def test_the_server_names_the_extra_when_pygls_is_missing() -> None:
    code = "import sys; sys.modules['pygls'] = None; from specc.cli import main; sys.exit(main(['server']))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "pip install 'specc-cnn[lsp]'" in out.stderr and "Traceback" not in out.stderr
