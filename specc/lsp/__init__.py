"""The language server behind `specc server`: diagnostics, inlay hints, hover,
go to definition and completion for .cnn files in any LSP editor.

server wires pygls to the pure functions in features and complete; scan reads
labels and blocks from raw text. Needs the `lsp` extra (pygls); only the
`server` command imports this package.
"""
