"""Write specc/syntax/grammar_tables.py from grammar/specc.lark (run after editing the grammar)."""

from pathlib import Path

from specc.syntax.lalr import grammar_path, tables_source

target = Path(__file__).resolve().parent.parent / "specc" / "syntax" / "grammar_tables.py"
target.write_text(tables_source(grammar_path().read_text(encoding="utf-8")), encoding="utf-8")
print(f"wrote {target}")
