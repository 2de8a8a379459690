"""A Pygments lexer for .cnn specs, registered as `cnn` (pyproject's `pygments.lexers`
entry point), so ```cnn blocks highlight in Jupyter, MkDocs and Sphinx.

It follows the grammar's shape: a line is an optional `label:`, a statement
keyword (or a block call), then values and `name=value` options; `block
NAME(params) {` opens a block (../shared/spec-graphs.md). Keywords are read
from specc.lower.statements and the activations from specc.kinds, so new statements
highlight without a change here. Imported only by Pygments, never by `specc
check`.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, default, words
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, Punctuation, Whitespace

from ..kinds import ACTIVATION_ALIASES, ACTIVATIONS
from ..lower.statements import KEYWORD_ALIASES, STATEMENTS

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
KEYWORDS = tuple(sorted({*STATEMENTS, *KEYWORD_ALIASES}, key=lambda k: (-len(k), k)))
FUNCTIONS = (*ACTIVATIONS, *ACTIVATION_ALIASES)
CONSTANTS = ("same", "valid", "true", "false", "nearest", "bilinear")
_SPACE = r"[ \t\f\r\v]+"
_NUMBERS = [
    (r"[0-9][0-9_]*(?:[x×][0-9][0-9_]*)+\b", Number),  # dimensions: 32x32x3
    (r"[+-]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9][0-9_]*[eE][+-]?[0-9]+)",
     Number.Float),
    (r"[+-]?[0-9][0-9_]*", Number.Integer),
]


class CnnLexer(RegexLexer):
    """specc's .cnn network specs."""

    name = "specc .cnn"
    aliases = ["cnn", "specc"]
    filenames = ["*.cnn"]
    mimetypes = ["text/x-cnn"]

    tokens = {
        "root": [  # the start of a line: a label, then a statement keyword or a block call
            (r"\n", Whitespace),
            (_SPACE, Whitespace),
            (r"#[^\n]*", Comment.Single),
            (rf"(block)({_SPACE})({NAME})", bygroups(Keyword.Declaration, Whitespace, Name.Function), "arguments"),
            (rf"({NAME})([ \t]*)(:)", bygroups(Name.Label, Whitespace, Punctuation)),
            (r"\}", Punctuation),
            (words(KEYWORDS, suffix=r"\b"), Keyword, "arguments"),
            (NAME, Name.Function, "arguments"),  # a block call
            default("arguments"),
        ],
        "arguments": [
            (r"\n", Whitespace, "#pop"),
            (_SPACE, Whitespace),
            (r"#[^\n]*", Comment.Single),
            (rf"({NAME})([ \t]*)(=)", bygroups(Name.Attribute, Whitespace, Operator)),
            *_NUMBERS,
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(FUNCTIONS, suffix=r"\b"), Name.Builtin),
            (rf"{NAME}(?:\.[A-Za-z0-9_]+)*", Name.Variable),  # parameters and references: in, d1.skip
            (r"[(){},:]", Punctuation),
            (r"[*/=]", Operator),
            (r"[^\s]", Error),
        ],
    }
