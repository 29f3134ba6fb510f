"""The engines' bit-for-bit cases (engine_cases.py) run under Pyodide, the page's CPython:

    node tests/pyodide_node.mjs dist tests pyodide_engines.py

Prints the interpreter's version, then one line per case: "ok NAME" or "DIFFERS NAME: what differed"
(the engines' cases, the non-finite gradients, the forward-only passes, the written-out sums at their longest).
Exits with status 1 if any case differs.
"""
import os
import sys

sys.path.insert(0, os.getcwd())  # this folder: pyodide_node.mjs makes it the working directory

from engine_cases import (CONFIGS, FORWARD_ONLY_CASES, NON_FINITE_CASES, engines_difference,  # noqa: E402
                          forward_only_difference, non_finite_grads, written_out_difference)

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
for name in FORWARD_ONLY_CASES:
    difference = forward_only_difference(name)
    differing += difference is not None
    print(f'DIFFERS forward only, {name}: {difference}' if difference else f'ok forward only, {name}')
difference = written_out_difference()
differing += difference is not None
print(f'DIFFERS written-out sums: {difference}' if difference else 'ok written-out sums')
sys.exit(1 if differing else 0)
