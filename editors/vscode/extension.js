// The VS Code side of the specc language server: start `specc server` for .cnn files.
// All the language knowledge lives in the server (specc/lsp/); this file only launches it.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("specc").get("server.command", ["specc", "server"]);
  const serverOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions = { documentSelector: [{ scheme: "file", language: "cnn" }, { scheme: "untitled", language: "cnn" }] };
  client = new LanguageClient("specc", "specc", serverOptions, clientOptions);
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
