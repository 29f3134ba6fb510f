"""The longest written-out sum (microgpt/written_out.py) an interpreter compiles: prints it (not a test).

    python benchmarks/written_out_limit.py            bisect on this interpreter (a too long sum: RecursionError)
    python benchmarks/written_out_limit.py --one K    compile and run the functions for K terms, print OK or FAIL

Under Pyodide a too long sum overflows the JavaScript stack, a fatal error that ends the interpreter, so there
each length runs in its own process and the shell bisects, e.g.:

    python build.py
    node tests/pyodide_node.mjs dist benchmarks written_out_limit.py --one 4940
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # natively: the repo
sys.path.insert(0, '/py')  # under tests/pyodide_node.mjs: the package dist/ serves

from microgpt import written_out as E  # noqa: E402


def compiles(k):
    """Whether matvec's and weight_grad's functions for k terms compile and give k."""
    try:
        matvec = E._written_out_matvec.__wrapped__(k)  # not cached: every call compiles
        weight_grad = E._written_out_weight_grad.__wrapped__(k)
        return matvec([1.0] * k, [1.0] * k) == [k] and weight_grad([[1.0]] * k, [[1.0]] * k) == [k]
    except RecursionError:
        return False


def main():
    version = '.'.join(map(str, sys.version_info[:3])) + ' ' + sys.platform
    if sys.argv[1:2] == ['--one']:
        k = int(sys.argv[2])
        print(('OK' if compiles(k) else 'FAIL'), k, 'python', version)
        return
    low, high = 1, 1 << 16  # compiles(low), not compiles(high)
    if compiles(high):
        print('python', version, 'compiles', high, 'terms')
        return
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if compiles(mid) else (low, mid)
    print('python', version, 'recursion limit', sys.getrecursionlimit(), 'longest', low,
          '| the engine writes at most', E.longest_written_out_sum(), 'and never more than', E.LONGEST_WRITTEN_OUT)


if __name__ == '__main__':
    main()
