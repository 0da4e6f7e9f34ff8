"""The longest functions of the package (lines from ``def`` to the last line of the body).

Usage::

    python benchmarks/function_lengths.py            # the 15 longest
    python benchmarks/function_lengths.py -n 10      # the 10 longest
    python benchmarks/function_lengths.py --code     # count code lines only (no docstring)

A function's length is ``end_lineno - lineno + 1`` of its ``def`` (decorators excluded,
docstring included); ``--code`` subtracts the docstring's lines. Nested functions count
inside their parent and are also listed on their own.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "rnnexplore"


def function_lengths(root: Path = ROOT, *, code_only: bool = False) -> list[tuple[int, str]]:
    """``(length, "path:line qualified.name")`` for every function under ``root``, longest first."""
    out = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        rel = path.relative_to(root.parent)

        def visit(node: ast.AST, prefix: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    n = child.end_lineno - child.lineno + 1
                    doc = child.body[0] if child.body else None
                    if code_only and isinstance(doc, ast.Expr) and isinstance(getattr(doc, "value", None), ast.Constant) \
                            and isinstance(doc.value.value, str):
                        n -= doc.end_lineno - doc.lineno + 1
                    out.append((n, f"{rel}:{child.lineno} {prefix}{child.name}"))
                    visit(child, f"{prefix}{child.name}.")
                elif isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")

        visit(tree, "")
    return sorted(out, key=lambda t: (-t[0], t[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=15, help="how many to list (default 15)")
    ap.add_argument("--code", action="store_true", help="exclude docstring lines")
    args = ap.parse_args()
    rows = function_lengths(code_only=args.code)
    for n, where in rows[: args.n]:
        print(f"{n:5d}  {where}")
    print(f"({len(rows)} functions; {sum(n > 80 for n, _ in rows)} over 80 lines)")


if __name__ == "__main__":
    main()
