"""The heap after ten failed edits in a row, natively and under Pyodide in Node.js: prints figures (not a test).

    python benchmarks/failed_edits.py [--native-only]

Each edit allocates a list of 2,000,000 slots (16 MB natively, 8 MB in 32-bit WebAssembly) at import time,
then raises (as a student's model.py that builds a table and then fails would); the Code panel's Train with my code compiles it through microgpt/edits.py. Measured with
tracemalloc (the memory Python's allocator holds, after gc.collect()) before and after ten of them, and under
Pyodide also the WebAssembly heap's size (it grows, never shrinks): both must stay where they were. Under
Node.js the script runs itself with tests/pyodide_node.mjs on the package dist/ serves (python build.py first).
"""
import gc
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAILING = "ballast = [0.0] * 2_000_000\nraise RuntimeError('this edit fails')\n"


def failed_edit():
    from microgpt.edits import CodeError, EditedCode
    try:
        EditedCode({'microgpt/model.py': FAILING})
    except CodeError:
        return
    raise AssertionError('the edit should have failed')


def wasm_heap():
    """The WebAssembly memory's size under Pyodide (None natively)."""
    try:
        import js  # noqa: F401 - Pyodide only
        from pyodide_js import _module
        return _module.HEAP8.length
    except ImportError:
        return None


def measure():
    failed_edit()  # warm: the first compile fills caches
    gc.collect()
    tracemalloc.start()
    before, heap_before = tracemalloc.get_traced_memory()[0], wasm_heap()
    for _ in range(10):
        failed_edit()
    gc.collect()
    after, heap_after = tracemalloc.get_traced_memory()[0], wasm_heap()
    tracemalloc.stop()
    where = 'Pyodide' if heap_before is not None else 'native'
    print(f'{where}: ten failed edits (a 2,000,000-slot list each) kept {after - before:+,} bytes (tracemalloc)')
    if heap_before is not None:
        print(f'{where}: WebAssembly heap {heap_before / 2**20:.1f} MiB before, {heap_after / 2**20:.1f} MiB after')


def under_node():
    node, dist = shutil.which('node'), ROOT / 'dist'
    if not node or not (dist / 'pyodide').is_dir():
        print('Pyodide: skipped (needs node and a built dist/: python build.py)')
        return
    work = ROOT / 'benchmarks'
    subprocess.run([node, str(ROOT / 'tests' / 'pyodide_node.mjs'), str(dist), str(work), 'failed_edits.py',
                    '--native-only'], check=True)


if __name__ == '__main__':
    measure()
    if '--native-only' not in sys.argv:
        under_node()
