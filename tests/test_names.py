"""Every name the project's Python reads is defined: a name left behind by a rename (share.py's `L` after it
became `opened`) fails here, not in a browser test that happens to open a link. pyflakes reads the files as
text, so the page's MicroPython and the worker's Pyodide modules are checked without their runtimes."""
import ast
from pathlib import Path

import pytest
from pyflakes import checker, messages

from conftest import ROOT

SOURCES = ['microgpt', 'web/page', 'web/worker', 'buildlib', 'benchmarks', 'build.py']
UNDEFINED = (messages.UndefinedName, messages.UndefinedLocal, messages.UndefinedExport)


def python_files():
    for source in SOURCES:
        path = ROOT / source
        yield from sorted(path.rglob('*.py')) if path.is_dir() else [path]


def undefined_names(path):
    tree = ast.parse(path.read_text(encoding='utf-8'), filename=str(path))
    found = checker.Checker(tree, filename=str(path)).messages
    return [str(m) for m in found if isinstance(m, UNDEFINED)]


@pytest.mark.parametrize('path', list(python_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_name_read_is_defined(path):
    assert undefined_names(path) == []


def test_a_name_left_behind_is_found(tmp_path):
    left_behind = tmp_path / 'renamed.py'
    left_behind.write_text('opened = object()\n\ndef apply(key, value):\n    setattr(L, key, value)\n')
    assert undefined_names(left_behind) == [f"{left_behind}:4:13: undefined name 'L'"]
