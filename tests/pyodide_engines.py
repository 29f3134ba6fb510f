"""The engines' bit-for-bit cases (engine_cases.py) run under Pyodide, the page's CPython:

    node tests/pyodide_node.mjs dist tests pyodide_engines.py

Prints the interpreter's version, then one line per case: "ok NAME" or "DIFFERS NAME: what differed".
Exits with status 1 if any case differs.
"""
import os
import sys

sys.path.insert(0, os.getcwd())  # this folder: pyodide_node.mjs makes it the working directory

from engine_cases import CONFIGS, NON_FINITE_CASES, engines_difference, non_finite_grads  # noqa: E402

print('python', '.'.join(map(str, sys.version_info[:3])), sys.platform)
differing = 0
for name in CONFIGS:
    difference = engines_difference(name)
    differing += difference is not None
    print(f'DIFFERS {name}: {difference}' if difference else f'ok {name}')
for case in NON_FINITE_CASES:
    original, efficient = non_finite_grads(case)
    differing += original != efficient
    print(f'DIFFERS {case}: loss or gradients' if original != efficient else f'ok {case}')
sys.exit(1 if differing else 0)
