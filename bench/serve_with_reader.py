"""`lrs serve` with the page query builder of another statement_reader.py,
to measure a before and an after over HTTP on the same data in one sitting:

    git show <before>:lrs/store/statement_reader.py > /tmp/reader_before.py
    python bench/serve_with_reader.py /tmp/reader_before.py serve --data-dir ... --port 8301

Only `compile_page` is replaced; everything else is the current code."""

from __future__ import annotations

import importlib.util
import sys

from lrs import cli
from lrs.store import statement_reader


def main() -> int:
    path, argv = sys.argv[1], sys.argv[2:]
    spec = importlib.util.spec_from_file_location("reader_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    statement_reader.compile_page = module.compile_page
    print(f"page queries compiled by {path}", flush=True)
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
