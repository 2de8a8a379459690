"""`specc new NAME`: print an example spec to start from (`specc new lenet5 > my.cnn`).

`specc new` or `specc new --list` lists the examples with their descriptions.
"""

from __future__ import annotations

import argparse


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="print an example spec to start from (`specc new lenet5 > my.cnn`)",
                       description="Print one of the example specs shipped with specc to stdout, to redirect "
                                   "into a file of your own. Without a name, or with --list, list them.")
    p.add_argument("name", nargs="?", metavar="NAME", help="an example's name (see --list)")
    p.add_argument("--list", action="store_true", help="list the examples with their descriptions")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import examples

    if args.list or args.name is None:
        rows = examples.listing()
        width = max(len(name) for name, _ in rows)
        print("\n".join(f"{name:<{width}}  {about}" for name, about in rows))
        print("\nprint one with `specc new NAME > NAME.cnn`")
        return 0
    print(examples.text(args.name), end="")
    return 0
