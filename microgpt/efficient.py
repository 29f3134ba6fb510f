"""The efficient engine: the gist's GPT on whole vectors, bit for bit the same as the original engine.

The original engine builds one `Value` per number and lets `Value.backward` apply the chain rule node by
node. This engine keeps plain lists of floats and writes each backward pass by hand (embedding sum,
rmsnorm, q/k/v projections, causal multi-head attention over the KV cache, softmax + cross-entropy,
ReLU MLP, residuals, lm_head), then runs Adam over flat lists. It is about 18x faster natively and
16x in the page (benchmarks/), and it gives exactly the same bits: every loss, every weight after
every step, every sample. Floating-point addition is not associative, so that takes three rules:

1. Same operations. Every float operation is the one a `Value` does: `x / n` is `x * n**-1`,
   `a - b` is `a + (-b)`, `-y` is `y * -1`, `sqrt` is `** -0.5`, and so on.

2. Same order inside a forward sum. `sum()` of Values adds left to right starting from the int 0.
   `sum(map(mul, a, b), ZERO)` does the same at C speed: ZERO is a float *subclass*, which turns off
   sum()'s float fast path (compensated summation since Python 3.12). `math.sumprod` and `math.fsum`
   round differently and are not used. The matrix products write the sum out instead,
   `0.0 + w0 * x0 + w1 * x1 + ...` (generated once per length, see `_written_out_matvec`): the same
   additions in the same order, and two to three times faster.

3. Same order inside a gradient. `Value.backward` visits nodes in the reverse of a depth-first
   post-order (a node is listed after all its children, children in the order they were given),
   and each node adds `local_grad * grad` into each child. A number used by several nodes therefore
   gets its gradient summed in the reverse of the order in which the depth-first search *finishes*
   those nodes. Following the search from the loss down gives these orders (each `*_backward`
   below repeats the one it uses):
   - the loss sums the positions' losses, so a whole position's graph finishes before the next
     one's: positions are processed from the last to the first, and a weight's gradient is the
     sum of one term per position, last position first;
   - the rows of a linear layer finish in ascending order, so the gradient of its input sums over
     rows from the last to the first; except lm_head, whose target row is reached first (through
     probs[target]), and the rows of q, k and v, which finish head by head in the order attention
     first meets them (see `qkv_finish_order`);
   - the residual add uses the stream before rmsnorm does: a residual input gets the residual's term
     first, then rmsnorm's `x * scale` term, then twice the `x * x` term;
   - in attention and softmax, each weight `e_s / total` is reached before `total`, and position s's
     terms in ascending s; so they arrive last s first.

Zeros' signs: a node's gradient starts as the int 0, so `0 + (-0.0)` gives `+0.0`. Every gradient
of a weight is summed here from +0.0 (ZERO), which gives the same bits: after a +0.0 start a sum is
never -0.0, and adding a zero of either sign to it changes nothing. Intermediate gradients may differ
from the original's in the sign of a zero, never otherwise: `+` and `*` keep "equal up to the sign of
a zero", and such a zero can only end in a weight's gradient as a zero term of a sum from +0.0.

ReLU: most units are inactive at a given position (after a few hundred steps, over 80% of them). An
inactive unit outputs 0 and hands back 0.0 times the gradient arriving, so each of its terms in the
fc2 forward, the fc1 input gradient and both weight gradients is a signed zero, *provided the other
factor is finite*, and adding a signed zero to a sum from +0.0 changes no bit. So the MLP works on
the active units only (`mlp_forward`, `mlp_backward`), except where a weight, an input or a gradient
is inf or nan, or could overflow (0.0 * inf is nan): there it takes every unit, as the original.
"""
import linecache
import math
from functools import lru_cache
from itertools import chain, repeat
from operator import add, itemgetter, mul

from .config import LIMITS
from .data import MAX_CHARS
from .engine import NonFiniteLoss


class _Plain(float):
    """A float that is not exactly `float`: as sum()'s start it makes sum() add plainly, left to right."""
    __slots__ = ()


ZERO = _Plain(0.0)


def dot(a, b):
    """((0 + a0*b0) + a1*b1) + ...: the sum of products the original builds from Values, at C speed."""
    return sum(map(mul, a, b), ZERO)


_ZEROS = repeat(ZERO)


def matvec(flat, x):
    """[dot(row, x) for row in a matrix], the matrix given as its rows one after another in one flat list."""
    k = len(x)
    if k > LONGEST_WRITTEN_OUT:  # never within the limits below; the same sums, one call per row
        return [dot(flat[i:i + k], x) for i in range(0, len(flat), k)]
    return _written_out_matvec(k)(flat, x)


# Sums of products written out as Python expressions, `0.0 + w0 * x0 + w1 * x1 + ...`, compiled once per length:
# the interpreter runs such an expression two to three times faster than any loop over the numbers (no call
# per number, and its float arithmetic is specialised), with the same operations in the same order as dot().
#
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
#   - every forward product, and wo's input gradient: n_embd, at most 128. (The MLP's 4 * n_embd units are
#     never summed written-out: fc2 and fc1's input gradient go unit by unit over the active units.)
# LONGEST_WRITTEN_OUT keeps a wide margin under every measured limit; longer sums (none today) take dot().
LONGEST_WRITTEN_OUT = 1000


def longest_written_out_sum():
    """The longest sum the engine writes out, from the limits that bound it (see above)."""
    return max(MAX_CHARS + 1, 3 * LIMITS['n_embd'], LIMITS['block_size'], LIMITS['n_embd'])


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


def flatten(rows):
    return list(chain.from_iterable(rows))


# -- forward pieces, float for float the original's ------------------------------------------------
def rmsnorm(x):
    """Returns the output and what the backward needs: (out, scale, ms + 1e-5)."""
    ms = dot(x, x) * len(x) ** -1  # sum(xi * xi) / len(x), and Value's `/ n` is `* n**-1`
    msp = ms + 1e-5
    scale = msp ** -0.5
    return [xi * scale for xi in x], scale, msp


def softmax_parts(logits):
    """exp(logit - max) for each logit, their total and total**-1; the probabilities are e * total**-1."""
    neg_max = -max(logits)  # max of the data, then `val - max_val` is `val + (-max_val)`
    exps = list(map(math.exp, [z + neg_max for z in logits]))
    total = sum(exps, ZERO)
    return exps, total, total ** -1


def mlp_forward(xn, w1_flat, w2_cols, finite):
    """fc2(relu(fc1(xn))). Returns the output, fc1's output h and the active units (h > 0), in order.

    An inactive unit gives 0 (0.0 gives the same products). With finite weights its terms are zeros
    and fc2's sums skip them; otherwise (finite False) every term is taken. Few units are active, so
    fc2's sums grow unit by unit: out[i] = ((0 + w2[i][j0]*a_j0) + w2[i][j1]*a_j1) + ..., j ascending."""
    h = matvec(w1_flat, xn)
    active = [j for j, hj in enumerate(h) if hj > 0]
    out = [0.0] * len(w2_cols[0])
    for j in (active if finite else range(len(h))):
        a_j = h[j] if h[j] > 0 else 0.0
        out = [o + w * a_j for o, w in zip(out, w2_cols[j])]
    return out, h, active


def mlp_weights_check(w1_flat, w2):
    """Whether the MLP may skip inactive units at all (both weights finite: an inf or nan makes these
    sums inf or nan), and the largest |fc2 weight|, for mlp_backward's overflow check."""
    finite = math.isfinite(sum(w1_flat)) and math.isfinite(sum(map(sum, w2)))
    return finite, max(max(map(max, w2)), -min(map(min, w2))) if finite else math.inf


def columns(flat, width):
    """The columns of a matrix given row after row (flat, `width` numbers a row), each a tuple."""
    return zip(*zip(*[iter(flat)] * width))


def attention(q, keys, values, n_head, inv_sqrt_hd):
    """Every head at one position. keys, values: the cached vectors of positions 0, 1, ..., t one after
    another in one flat list. Works on all heads at once, position by position ("(s, h) order"), so that
    every loop runs in C: a head's dot products are runs of head_dim consecutive numbers, and a head's
    softmax runs over a column of the (s, h) table.
    Returns the output and what the backward needs: (exps, totals, totals**-1, the weights spread out)."""
    n_embd = len(q)
    hd, n_pos = n_embd // n_head, len(keys) // n_embd
    # q_h . k_s for every position s and head h, `/ head_dim**0.5` being `* (head_dim**0.5)**-1`
    logits = [z * inv_sqrt_hd for z in map(sum, zip(*[map(mul, q * n_pos, keys)] * hd), _ZEROS)]
    # softmax of each head over s = 0, 1, ..., as softmax_parts: exp(z + (-max)), summed from 0
    neg_max = [-m for m in map(max, columns(logits, n_head))]
    exps = list(map(math.exp, map(add, logits, neg_max * n_pos)))
    totals = list(map(sum, columns(exps, n_head), _ZEROS))
    invs = [total ** -1 for total in totals]
    weights = map(mul, exps, invs * n_pos)  # e * total**-1
    w_spread = list(chain.from_iterable(map(repeat, weights, repeat(hd))))  # w[s][h] at each of v_s's numbers
    # out[i] = sum over s = 0, 1, ... of w[s][head of i] * v_s[i]: the products by position, then by column
    out = list(map(sum, columns(map(mul, w_spread, values), n_embd), _ZEROS))
    return out, (exps, totals, invs, w_spread)


# -- backward pieces: each returns the gradient of its inputs, summed in the original's order ------
def input_grad(cols_rev_flat, g):
    """Gradient of a linear layer's input: for each column m, sum over rows i, LAST row first, of
    w[i][m] * g[i]. cols_rev_flat: the columns of w with the rows reversed (transpose_rev), flattened."""
    return matvec(cols_rev_flat, g[::-1])


def transpose_rev(w):
    """The columns of w, each listing the rows last first: the order input gradients sum in."""
    return list(zip(*w[::-1]))


def weight_grad(gs, xs):
    """Gradient of a linear layer's weights, flat (row after row): w[i][m] gets x[m] * g[i] once per
    position, last position first. gs, xs: the output gradients and inputs at each position, in the
    order positions are processed."""
    if len(gs) > LONGEST_WRITTEN_OUT:  # never within the limits (see matvec): the same sums, one call each
        return [dot(g, x) for g in zip(*gs) for x in zip(*xs)]
    return _written_out_weight_grad(len(gs))(gs, xs)


def rmsnorm_backward(x, scale, msp, dout, dx=None):
    """Gradient of rmsnorm's input x. dx: what x already got from a residual add (that comes first).

    out_k = x_k * scale comes next (the outputs finish in ascending k, so scale's gradient sums last k
    first), then sq_k = x_k * x_k, which hands x_k the same term twice."""
    dscale = dot(x[::-1], dout[::-1])
    # scale = msp**-0.5, msp = ms + 1e-5, ms = sumsq * n**-1, sumsq = sq_0 + sq_1 + ...
    dsq = len(x) ** -1 * (-0.5 * msp ** -1.5 * dscale)
    sq_terms = [xk * dsq for xk in x]
    if dx is None:
        return [scale * d + sq + sq for d, sq in zip(dout, sq_terms)]
    return [r + scale * d + sq + sq for r, d, sq in zip(dx, dout, sq_terms)]  # ((r + scale*d) + sq) + sq


def mlp_backward(xn, h, active, dout, w1, w2_cols, dw1, dw2_cols, skip_ok):
    """Backward of mlp_forward at one position: returns the gradient of xn, and adds this position's
    terms into dw1 (fc1's weight gradient, by rows) and dw2_cols (fc2's, by columns).

    Inactive units are left out when skip_ok (finite weights, see mlp_weights_check) and all that
    meets their zeros is finite: dout and xn, and fc2's input gradient at those units, which is
    bounded by max|w2| * sum|dout|. Otherwise every unit is taken: an inactive one gets 0.0 * its
    gradient, nan for inf, as in the original.
    Orders: fc2's input gradient sums over its rows last first; fc1's input gradient over the units
    last first; the weight gradients over positions last first (the caller goes last to first)."""
    w_finite, w2_max = skip_ok
    dout_rev = dout[::-1]
    if w_finite and sum(map(abs, dout)) * w2_max < 1e300 and math.isfinite(sum(xn)):
        units = active
        dh = [dot(w2_cols[j][::-1], dout_rev) for j in units]  # relu's local gradient is 1.0 here
    else:
        units = range(len(h))
        dh = [float(h[j] > 0) * dot(w2_cols[j][::-1], dout_rev) for j in units]
    for j in units:  # fc2: w2[i][j] gets act_j * dout_i
        a_j = h[j] if h[j] > 0 else 0.0
        dw2_cols[j] = [acc + d * a_j for acc, d in zip(dw2_cols[j], dout)]
    dxn = [0.0] * len(xn)
    for j, d in zip(reversed(units), dh[::-1]):
        dw1[j] = [acc + x * d for acc, x in zip(dw1[j], xn)]  # fc1: w1[j][m] gets xn_m * dh_j
        dxn = [acc + w * d for acc, w in zip(dxn, w1[j])]  # xn_m gets w1[j][m] * dh_j, units last first
    return dxn


def attention_backward(q, keys, values, parts, dout, n_head, inv_sqrt_hd, dkeys, dvalues):
    """Backward of attention; returns dq and adds the keys' and values' terms into dkeys, dvalues (flat
    like keys and values, each number summed over the positions that used it, last position first).

    Orders: w_s feeds out_0, out_1, ... of its head, so it sums last j first; `total` feeds each w_s
    through its own `total**-1` node, last s first; e_s gets its w_s term before its `total` term;
    q_j is met by the logits of s = 0, 1, ... so it sums last s first. Sums "last first" run over
    reversed lists, their answers reversed back."""
    n_embd = len(q)
    hd, n_pos = n_embd // n_head, len(keys) // n_embd
    exps, totals, invs, w_spread = parts
    # dw[s][h] = sum over j, last first, of v_s[j] * dout[j] within head h, in (s, h) order
    dw = list(map(sum, zip(*[map(mul, values[::-1], dout[::-1] * n_pos)] * hd), _ZEROS))[::-1]
    dinv_rev = list(map(mul, exps, dw))[::-1]  # w_s = e_s * inv_s
    # each head's total: the sum over s, last first, of (-1 * total**-2) * dinv_s (inv_s = total**-1)
    coef_rev = [-1 * total ** -2 for total in reversed(totals)]
    dtotals = list(map(sum, columns(map(mul, coef_rev * n_pos, dinv_rev), n_head), _ZEROS))[::-1]
    # e_s gets inv * dw_s, then dtotal; exp's local gradient is exp itself: the gradient of each q . k_s
    dlogits = [inv_sqrt_hd * (e * (inv * d + dtotal))
               for e, d, inv, dtotal in zip(exps, dw, invs * n_pos, dtotals * n_pos)]
    dl_spread = list(chain.from_iterable(map(repeat, dlogits, repeat(hd))))
    dq = list(map(sum, columns(map(mul, keys[::-1], dl_spread[::-1]), n_embd), _ZEROS))[::-1]
    size = len(keys)
    dkeys[:size] = map(add, dkeys[:size], map(mul, q * n_pos, dl_spread))  # k_s[j] gets q_j * dlogit
    dvalues[:size] = map(add, dvalues[:size], map(mul, dout * n_pos, w_spread))  # v_s[j] gets dout_j * w_s
    return dq


def loss_backward(exps, total, inv, target, n):
    """Gradient of the step's loss (1/n) * sum(-log(probs[target])) wrt one position's logits."""
    p = exps[target] * inv
    dp = (1 / p) * -(1 / n)  # log's local gradient is 1/p; the loss hands log(p) the gradient -1 * (1/n)
    dtotal = -1 * total ** -2 * (exps[target] * dp)  # probs[target] = e * total**-1
    dlogits = [e * dtotal for e in exps]  # every e_i reaches the loss only through total ...
    dlogits[target] = exps[target] * (inv * dp + dtotal)  # ... except e_target, which comes first via probs
    return dlogits


def lm_head_input_grad(cols_rev_flat, target_row, target, dlogits):
    """Gradient of lm_head's input: probs[target] reaches row `target` first and the total reaches the
    others in ascending order, so the sum runs over the rows last first, skipping the target, then the
    target. cols_rev_flat: as for input_grad; target_row: lm_head[target].

    The target's place in the first sum gets a 0.0 gradient: its terms are then zeros, which change no
    sum from +0.0. (A zero times inf or nan is nan, but then the target's logit is inf or nan, and every
    dlogit is already nan, or the loss raised at log(0).)"""
    d_others = list(dlogits)
    d_target, d_others[target] = d_others[target], 0.0
    return [s + w * d_target for s, w in zip(input_grad(cols_rev_flat, d_others), target_row)]


def qkv_finish_order(n_embd, n_head, first_position):
    """The order in which the original's depth-first search finishes the rows of q, k and v at one
    position, as indices into the stacked rows [wq; wk; wv].

    Attention is entered head by head through its first output; the logits meet q_j and k_s[j] for
    j = 0, 1, ... at s = 0 (so at position 0 each key row right after its query row), the current
    key only at the last logit s = t, and the current value rows one output at a time."""
    hd = n_embd // n_head
    order = []
    for h in range(n_head):
        rows = range(h * hd, (h + 1) * hd)
        if first_position:
            order += [i for j in rows for i in (j, n_embd + j)]
        else:
            order += list(rows) + [n_embd + j for j in rows]
        order += [2 * n_embd + j for j in rows]
    return order


class _Layer:
    """What one layer's backward needs from its forward at one position."""
    __slots__ = ('x_in', 'rms1', 'xn', 'q', 'attn', 'x_attn', 'x_mid', 'rms2', 'xn2', 'h', 'active')


class EfficientEngine:
    """The engine of engine.py on lists of floats, bit for bit OriginalEngine's."""
    name = 'efficient'

    def __init__(self, config, weights):
        self.config = config
        self._w = {name: [list(row) for row in mat] for name, mat in weights.items()}
        self._shapes = [(name, len(mat), len(mat[0])) for name, mat in weights.items()]
        n_params = sum(rows * cols for _, rows, cols in self._shapes)
        # Let there be Adam, the blessed optimizer and its buffers (flat, in OriginalEngine.params order)
        self.m = [0.0] * n_params  # first moment buffer
        self.v = [0.0] * n_params  # second moment buffer
        self._sample_flat = None  # _prepare()'s answer for the sample being drawn
        # the rows of q, k and v in the order their input gradient sums them, later positions and position 0
        orders = [qkv_finish_order(config.n_embd, config.n_head, first)[::-1] for first in (False, True)]
        self._qkv_orders = [(order, itemgetter(*order)) for order in orders]

    def weights(self):
        return {name: [list(row) for row in mat] for name, mat in self._w.items()}

    def adam_state(self):
        return list(self.m), list(self.v)

    def load_adam_state(self, m, v):
        self.m, self.v = list(m), list(v)

    def new_cache(self):
        """Keys and values so far, per layer: each position's vector appended to one flat list."""
        n_layer = self.config.n_layer
        return [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]

    # -- forward ---------------------------------------------------------------------------------
    def _prepare(self):
        """What the forward pass reads from the weights, laid out for it: the matrices of matvec() flat
        (q, k and v stacked), and the MLP checks. Made once per step and once per sample."""
        w = self._w
        flat = {'lm_head': flatten(w['lm_head'])}
        for li in range(self.config.n_layer):
            p = f'layer{li}.'
            flat[p + 'qkv'] = flatten(chain(w[p + 'attn_wq'], w[p + 'attn_wk'], w[p + 'attn_wv']))
            flat[p + 'attn_wo'] = flatten(w[p + 'attn_wo'])
            flat[p + 'mlp_fc1'] = flatten(w[p + 'mlp_fc1'])
            flat[p + 'mlp_fc2_cols'] = list(zip(*w[p + 'mlp_fc2']))
            flat[p + 'mlp_checks'] = mlp_weights_check(flat[p + 'mlp_fc1'], w[p + 'mlp_fc2'])
        return flat

    def _forward(self, token_id, pos_id, keys, values, flat):
        """The gpt() function at one position: returns (logits, embedding, its rmsnorm, the layers)."""
        cfg, w = self.config, self._w
        n_head = cfg.n_head
        n_embd = len(w['wte'][0])
        hd = n_embd // n_head
        inv_sqrt_hd = (hd ** 0.5) ** -1
        emb = list(map(add, w['wte'][token_id], w['wpe'][pos_id]))  # joint token and position embedding
        x, *rms0 = rmsnorm(emb)
        layers = []
        for li in range(cfg.n_layer):
            L = _Layer()
            L.x_in = x
            L.xn, *L.rms1 = rmsnorm(x)
            qkv = matvec(flat[f'layer{li}.qkv'], L.xn)
            L.q, k, v = qkv[:n_embd], qkv[n_embd:2 * n_embd], qkv[2 * n_embd:]
            keys[li] += k
            values[li] += v
            L.x_attn, L.attn = attention(L.q, keys[li], values[li], n_head, inv_sqrt_hd)
            L.x_mid = list(map(add, matvec(flat[f'layer{li}.attn_wo'], L.x_attn), x))
            L.xn2, *L.rms2 = rmsnorm(L.x_mid)
            mlp_out, L.h, L.active = mlp_forward(L.xn2, flat[f'layer{li}.mlp_fc1'], flat[f'layer{li}.mlp_fc2_cols'],
                                                 flat[f'layer{li}.mlp_checks'][0])
            x = list(map(add, mlp_out, L.x_mid))
            layers.append(L)
        return matvec(flat['lm_head'], x), x, emb, rms0, layers

    def next_token_probs(self, token_id, pos_id, keys, values, temperature):
        """Probabilities of the next token at a temperature, for sampling."""
        if pos_id == 0:  # a new sample: the weights may have changed since the last one
            self._sample_flat = self._prepare()
        logits = self._forward(token_id, pos_id, keys, values, self._sample_flat)[0]
        exps, _, inv = softmax_parts([z * temperature ** -1 for z in logits])  # `l / temperature`
        return [e * inv for e in exps]

    # -- forward only ----------------------------------------------------------------------------
    def loss(self, tokens):
        """The document's loss, forward only."""
        return self._forward_document(tokens)[0]

    def attention_maps(self, tokens):
        """maps[layer][head][t][s], as engine.py describes: each weight e * total**-1, as attention() makes it."""
        n_head, n_layer = self.config.n_head, self.config.n_layer
        positions = self._forward_document(tokens)[1]
        maps = [[[] for _ in range(n_head)] for _ in range(n_layer)]
        for *_, layers in positions:
            for li, L in enumerate(layers):
                exps, _, invs, _ = L.attn  # in (s, h) order
                for h in range(n_head):
                    maps[li][h].append([e * invs[h] for e in exps[h::n_head]])
        return maps

    # -- training --------------------------------------------------------------------------------
    def train_step(self, tokens, step, lr_t):
        """Forward one document, backward, Adam update; returns the loss (a float)."""
        loss, *forward = self._forward_document(tokens)
        if not math.isfinite(loss):
            raise NonFiniteLoss(loss)  # before anything changes
        grads = self._backward(tokens, *forward)
        self._adam(list(chain.from_iterable(grads)), step, lr_t)
        return loss

    def loss_and_grads(self, tokens):
        """The step's loss and the gradient of every weight (name -> rows), before any update."""
        loss, *forward = self._forward_document(tokens)
        grads = self._backward(tokens, *forward)
        return loss, {name: [g[i * cols:(i + 1) * cols] for i in range(rows)]
                      for (name, rows, cols), g in zip(self._shapes, grads)}

    def _forward_document(self, tokens):
        """The step's loss, and what its backward needs: (loss, positions, keys, values, flat)."""
        cfg = self.config
        n = min(cfg.block_size, len(tokens) - 1)
        keys, values = self.new_cache()
        positions, losses = [], []
        flat = self._prepare()
        for pos_id in range(n):
            logits, *fwd = self._forward(tokens[pos_id], pos_id, keys, values, flat)
            exps, total, inv = softmax_parts(logits)
            target = tokens[pos_id + 1]
            losses.append(math.log(exps[target] * inv) * -1)  # -probs[target].log()
            positions.append(((exps, total, inv), *fwd))
        loss = sum(losses, ZERO) * (1 / n)  # (1 / n) * sum(losses)
        return loss, positions, keys, values, flat

    def _backward(self, tokens, positions, keys, values, flat):
        cfg, w = self.config, self._w
        n_embd, n_head, n_layer = len(w['wte'][0]), cfg.n_head, cfg.n_layer
        hd = n_embd // n_head
        inv_sqrt_hd = (hd ** 0.5) ** -1
        n = len(positions)
        # views of the weights for the input gradients: columns, rows in backward order
        cols_rev = {name: flatten(transpose_rev(mat)) for name, mat in w.items() if name.endswith(('wo', 'lm_head'))}
        dw1 = [[[0.0] * n_embd for _ in w[f'layer{li}.mlp_fc1']] for li in range(n_layer)]  # by rows
        dw2_cols = [[[0.0] * n_embd for _ in w[f'layer{li}.mlp_fc1']] for li in range(n_layer)]  # by columns
        qkv = []  # per layer, for later positions and for position 0: (pick the rows, the columns)
        for li in range(n_layer):
            stacked = w[f'layer{li}.attn_wq'] + w[f'layer{li}.attn_wk'] + w[f'layer{li}.attn_wv']
            qkv.append([(pick, flatten(zip(*[stacked[i] for i in order]))) for order, pick in self._qkv_orders])
        dkeys = [[0.0] * (n * n_embd) for _ in range(n_layer)]  # flat, like the cache
        dvalues = [[0.0] * (n * n_embd) for _ in range(n_layer)]
        # output gradients and inputs per position of the layers whose weight gradients come at the end
        # (q, k and v share their input: their rows are stacked, as in _prepare)
        seen = {name: ([], []) for name in ['lm_head'] + [f'layer{li}.{m}' for li in range(n_layer)
                                                          for m in ('qkv', 'attn_wo')]}

        def record(name, g, x):
            seen[name][0].append(g)
            seen[name][1].append(x)

        dwte = [[0.0] * n_embd for _ in w['wte']]
        dwpe = [[0.0] * n_embd for _ in w['wpe']]
        for t in reversed(range(n)):  # positions last to first
            (exps, total, inv), x, emb, rms0, layers = positions[t]
            target = tokens[t + 1]
            dlogits = loss_backward(exps, total, inv, target, n)
            record('lm_head', dlogits, x)
            dx = lm_head_input_grad(cols_rev['lm_head'], w['lm_head'][target], target, dlogits)
            for li in reversed(range(n_layer)):
                L, p = layers[li], f'layer{li}.'
                # MLP block: x_out = fc2(relu(fc1(rmsnorm(x_mid)))) + x_mid
                dxn2 = mlp_backward(L.xn2, L.h, L.active, dx, w[p + 'mlp_fc1'], flat[p + 'mlp_fc2_cols'],
                                    dw1[li], dw2_cols[li], flat[p + 'mlp_checks'])
                dx_mid = rmsnorm_backward(L.x_mid, *L.rms2, dxn2, dx)
                # attention block: x_mid = wo(attention(q, k, v of rmsnorm(x_in))) + x_in
                record(p + 'attn_wo', dx_mid, L.x_attn)
                dx_attn = input_grad(cols_rev[p + 'attn_wo'], dx_mid)
                size = (t + 1) * n_embd  # the cache up to this position
                dq = attention_backward(L.q, keys[li][:size], values[li][:size], L.attn, dx_attn, n_head,
                                        inv_sqrt_hd, dkeys[li], dvalues[li])
                dk = dkeys[li][t * n_embd:size]  # complete: later positions are done
                dv = dvalues[li][t * n_embd:size]
                dqkv = dq + dk + dv
                record(p + 'qkv', dqkv, L.xn)
                pick, qkv_cols = qkv[li][t == 0]
                dxn = matvec(qkv_cols, list(pick(dqkv)))
                dx = rmsnorm_backward(L.x_in, *L.rms1, dxn, dx_mid)
            demb = rmsnorm_backward(emb, *rms0, dx)
            dwte[tokens[t]] = list(map(add, dwte[tokens[t]], demb))  # emb = wte[token] + wpe[pos]
            dwpe[t] = list(map(add, dwpe[t], demb))
        grads = {'wte': flatten(dwte), 'wpe': flatten(dwpe)}
        for name in seen:
            grads[name] = weight_grad(*seen[name])
        square = n_embd * n_embd  # the size of wq, wk and wv
        for li in range(n_layer):
            p = f'layer{li}.'
            dqkv = grads.pop(p + 'qkv')
            grads[p + 'attn_wq'], grads[p + 'attn_wk'], grads[p + 'attn_wv'] = (
                dqkv[:square], dqkv[square:2 * square], dqkv[2 * square:])
            grads[p + 'mlp_fc1'] = flatten(dw1[li])
            grads[p + 'mlp_fc2'] = flatten(zip(*dw2_cols[li]))
        return [grads[name] for name in w]  # in the weights' order

    def _adam(self, grads, step, lr_t):
        """Adam over flat lists, each expression as in OriginalEngine.train_step (comprehensions: the
        interpreter specialises their float arithmetic, faster than chains of map here and in Pyodide)."""
        cfg = self.config
        beta1, beta2, eps_adam = cfg.beta1, cfg.beta2, cfg.eps
        c1, c2 = 1 - beta1, 1 - beta2
        bias1, bias2 = 1 - beta1 ** (step + 1), 1 - beta2 ** (step + 1)
        params = chain.from_iterable(chain.from_iterable(self._w.values()))
        # every new number first, then store them all: an overflow (g ** 2) changes nothing
        new_m = [beta1 * m + c1 * g for m, g in zip(self.m, grads)]
        new_v = [beta2 * v + c2 * g ** 2 for v, g in zip(self.v, grads)]
        # p.data -= lr_t * m_hat / (v_hat ** 0.5 + eps_adam), with m_hat = m / bias1 and v_hat = v / bias2
        flat = [p - lr_t * (m / bias1) / ((v / bias2) ** 0.5 + eps_adam) for p, m, v in zip(params, new_m, new_v)]
        self.m, self.v = new_m, new_v
        offset = 0
        for name, rows, cols in self._shapes:
            self._w[name] = [flat[offset + i * cols:offset + (i + 1) * cols] for i in range(rows)]
            offset += rows * cols
