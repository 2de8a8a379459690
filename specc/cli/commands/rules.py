"""`specc rules` and `specc rule CODE`: the lint rules and their documentation.

`specc rules --format markdown` prints the rule reference that docs/rules.md
embeds (tests/test_rules_cli.py checks the two agree).
"""

from __future__ import annotations

import argparse


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="list the lint rules (code, name, default, summary)",
                       description="List the lint rules that `specc check` runs: code, name, whether it is on "
                                   "by default, and a summary. Errors (E...) are always on.")
    p.add_argument("--format", "-f", default="text", choices=("text", "json", "markdown"),
                   help="output format (default: text)")
    p.set_defaults(run=run_list)
    q = sub.add_parser("rule", help="show one lint rule's documentation",
                       description="Show a lint rule's documentation: what it does, why, an example and "
                                   "what to write instead.")
    q.add_argument("code", metavar="CODE", help="a rule code such as W101, or its name")
    q.set_defaults(run=run_rule)


def table() -> str:
    from ...lint.registry import RULES

    rows = [("code", "name", "default", "summary")]
    rows += [(r.code, r.name, "on" if r.default else "off", r.summary) for r in RULES.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3] for row in rows]
    return "\n".join([*lines, "", "Errors (E...) are always on. `specc rule CODE` shows a rule's documentation; "
                               "--select/--ignore or [tool.specc] in pyproject.toml choose the rules."])


def markdown() -> str:
    """The rule reference of docs/rules.md: a summary table, then every rule's docstring."""
    from ...lint.registry import RULES

    out = ["| code | name | default | summary |", "|---|---|---|---|"]
    out += [f"| [{r.code}](#{r.code.lower()}-{r.name}) | `{r.name}` | {'on' if r.default else 'off'} | {r.summary} |"
            for r in RULES.values()]
    for r in RULES.values():
        body = r.doc.strip().split("\n", 1)[1].strip().replace("## ", "#### ")
        out += ["", f"### {r.code} {r.name}", "", f"*{r.summary}* Default: {'on' if r.default else 'off'}.",
                "", body]
    return "\n".join(out) + "\n"


def run_list(args: argparse.Namespace) -> int:
    from ...lint.registry import RULES

    if args.format == "json":
        import json

        rules = [{"code": r.code, "name": r.name, "default": r.default, "summary": r.summary} for r in RULES.values()]
        print(json.dumps(rules, indent=2))
    else:
        print(markdown() if args.format == "markdown" else table(), end="" if args.format == "markdown" else "\n")
    return 0


def lookup(word: str) -> str:
    """A rule's documentation, or an error code's title; SpeccError (status 2) if unknown."""
    from ...diagnostics import CODES
    from ...errors import SpeccError
    from ...lint.registry import BY_NAME, RULES
    from ...lint.selection import suggestion

    rule = RULES.get(word.upper()) or BY_NAME.get(word.lower())
    if rule is not None:
        state = "on by default" if rule.default else f"off by default: enable it with --select {rule.code}"
        return f"{rule.code} {rule.name} ({state})\n\n{rule.doc.strip()}"
    if word.upper() in CODES:
        return (f"{word.upper()}: {CODES[word.upper()]}\n\nAn error: specc check always reports it and exits 1; "
                f"errors cannot be selected, ignored or silenced.")
    raise SpeccError(f"unknown rule `{word}`{suggestion(word, with_errors=True)}", 2)


def run_rule(args: argparse.Namespace) -> int:
    print(lookup(args.code))
    return 0
