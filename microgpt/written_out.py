"""The efficient engine's written-out machinery: sums of products, and Adam, as generated Python code.

The interpreter runs a long arithmetic expression written out in Python source, `0.0 + w0 * x0 + w1 * x1 + ...`,
two to three times faster than any loop over the numbers (no call or iteration per number, and its float
arithmetic is specialised), with the same operations in the same order. This module writes such functions once
per length and compiles them (`_compile`): matrix-vector products (`matvec`), weight gradients (`weight_grad`)
and Adam's update of a row of weights (`adam_rows`). Every generated function is named after what it does and
its length, in tracebacks and profiles too ('<matvec 48>', say).
"""
import linecache
from functools import lru_cache
from operator import mul

from .config import LIMITS
from .data import MAX_CHARS


class _Plain(float):
    """A float that is not exactly `float`: as sum()'s start it makes sum() add plainly, left to right."""
    __slots__ = ()


ZERO = _Plain(0.0)


def dot(a, b):
    """((0 + a0*b0) + a1*b1) + ...: the sum of products the original builds from Values, at C speed."""
    return sum(map(mul, a, b), ZERO)


def matvec(flat, x):
    """[dot(row, x) for row in a matrix], the matrix given as its rows one after another in one flat list."""
    k = len(x)
    if k > LONGEST_WRITTEN_OUT:  # never within the limits below; the same sums, one call per row
        return [dot(flat[i:i + k], x) for i in range(0, len(flat), k)]
    return _written_out_matvec(k)(flat, x)


# How long may such a sum be? The compiler recurses once per `+`, so a long enough sum does not compile.
# Measured with benchmarks/written_out_limit.py (matvec's and weight_grad's functions alike, at the default
# recursion limit of 1000), the longest that compiles has about 2980 terms on CPython 3.10.13 and 3.11.7 (a
# few less when compiled from deeper in the stack; their limit also scales with sys.getrecursionlimit()),
# 2991 on 3.12.1 and 9993 on 3.13.0 (RecursionError beyond), and 4940 on Pyodide's CPython 3.14.2 in
# Node.js 20, where a longer one overflows the JavaScript stack: a fatal error, not an exception. The sums
# this engine writes are far shorter; their bounds come from the settings' and the dataset's limits:
#   - lm_head's input gradient sums over the vocabulary: at most data.MAX_CHARS + 1 = 501 terms;
#   - the stacked q, k and v rows' input gradient: 3 * n_embd, at most 3 * config.LIMITS['n_embd'] = 384;
#   - a weight gradient sums over the positions: at most config.LIMITS['block_size'] = 128;
#   - fc2's product and fc1's input gradient sum over the MLP's units taken (the active ones, padded to a
#     multiple of 8): at most 4 * config.LIMITS['n_embd'] = 512;
#   - every other forward product, and wo's input gradient: n_embd, at most 128.
# LONGEST_WRITTEN_OUT keeps a wide margin under every measured limit; longer sums (none today) take dot().
LONGEST_WRITTEN_OUT = 1000


def longest_written_out_sum():
    """The longest sum the engine writes out, from the limits that bound it (see above)."""
    return max(MAX_CHARS + 1, 4 * LIMITS['n_embd'], LIMITS['block_size'])


def _compile(source, name, filename):
    """The function `name` defined by `source`, named in tracebacks and profiles (file '<matvec 48>', say)."""
    namespace = {'__name__': __name__}
    exec(compile(source, filename, 'exec'), namespace)  # noqa: S102 - source written by this module from numbers only
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # tracebacks show the line
    function = namespace[name]
    function.__name__ = function.__qualname__ = name
    return function


def _written_out(a, b, k):
    """Names a0..a{k-1} and b0..b{k-1} as Python source, and the sum of their products from 0.0."""
    a_names, b_names = ', '.join(f'{a}{i}' for i in range(k)), ', '.join(f'{b}{i}' for i in range(k))
    return a_names, b_names, '0.0 + ' + ' + '.join(f'{a}{i} * {b}{i}' for i in range(k))


@lru_cache(maxsize=None)
def _written_out_matvec(k):
    """matvec for vectors of k numbers: each row's k products summed in one written-out expression.
    For k = 2 it is:

        def matvec_2(flat, x):
            x0, x1, = x
            return [0.0 + w0 * x0 + w1 * x1 for w0, w1, in zip(*[iter(flat)] * 2)]
    """
    w, x, total = _written_out('w', 'x', k)
    return _compile(f'def matvec_{k}(flat, x):\n'
                    f'    {x}, = x\n'
                    f'    return [{total} for {w}, in zip(*[iter(flat)] * {k})]\n', f'matvec_{k}', f'<matvec {k}>')


@lru_cache(maxsize=None)
def _written_out_weight_grad(n):
    """weight_grad for n positions: each weight's n terms summed in one written-out expression.
    For n = 2 it is:

        def weight_grad_2(gs, xs):
            x_cols = list(zip(*xs))
            return [0.0 + g0 * x0 + g1 * x1 for g0, g1, in zip(*gs) for x0, x1, in x_cols]
    """
    g, x, total = _written_out('g', 'x', n)
    return _compile(f'def weight_grad_{n}(gs, xs):\n'
                    f'    x_cols = list(zip(*xs))\n'
                    f'    return [{total} for {g}, in zip(*gs) for {x}, in x_cols]\n',
                    f'weight_grad_{n}', f'<weight_grad {n}>')


def weight_grad(gs, xs):
    """Gradient of a linear layer's weights, flat (row after row): w[i][m] gets x[m] * g[i] once per
    position, last position first. gs, xs: the output gradients and inputs at each position, in the
    order positions are processed."""
    if len(gs) > LONGEST_WRITTEN_OUT:  # never within the limits (see matvec): the same sums, one call each
        return [dot(g, x) for g in zip(*gs) for x in zip(*xs)]
    return _written_out_weight_grad(len(gs))(gs, xs)


@lru_cache(maxsize=None)
def adam_rows(k):
    """Adam's update of a matrix whose rows have k weights: every row's new weights, first moments and
    second moments, each number by the expressions of OriginalEngine._adam (its `1 - beta1`, `1 - beta2`,
    `1 - beta1 ** (step + 1)` and `1 - beta2 ** (step + 1)` given as c1, c2, bias1 and bias2), one row at
    a time, written out. Nothing is stored: the caller stores the answers once every matrix has its own.
    For k = 1 it is:

        def adam_rows_1(rows, ms, vs, gs, beta1, c1, beta2, c2, lr_t, bias1, bias2, eps):
            new_rows, new_ms, new_vs = [], [], []
            for (p0,), (m0,), (v0,), (g0,) in zip(rows, ms, vs, gs):
                m0 = beta1 * m0 + c1 * g0
                v0 = beta2 * v0 + c2 * g0 ** 2
                new_ms.append([m0])
                new_vs.append([v0])
                new_rows.append([p0 - lr_t * (m0 / bias1) / ((v0 / bias2) ** 0.5 + eps)])
            return new_rows, new_ms, new_vs
    """
    def names(letter):  # 'm0, m1, ...'
        return ', '.join(f'{letter}{i}' for i in range(k))

    lines = [f'def adam_rows_{k}(rows, ms, vs, gs, beta1, c1, beta2, c2, lr_t, bias1, bias2, eps):',
             '    new_rows, new_ms, new_vs = [], [], []',
             f'    for ({names("p")},), ({names("m")},), ({names("v")},), ({names("g")},) in zip(rows, ms, vs, gs):']
    lines += [f'        m{i} = beta1 * m{i} + c1 * g{i}' for i in range(k)]
    lines += [f'        v{i} = beta2 * v{i} + c2 * g{i} ** 2' for i in range(k)]
    lines += [f'        new_ms.append([{names("m")}])', f'        new_vs.append([{names("v")}])',
              '        new_rows.append([' + ', '.join(f'p{i} - lr_t * (m{i} / bias1) / ((v{i} / bias2) ** 0.5 + eps)'
                                                   for i in range(k)) + '])',
              '    return new_rows, new_ms, new_vs']
    return _compile('\n'.join(lines) + '\n', f'adam_rows_{k}', f'<adam_rows {k}>')
