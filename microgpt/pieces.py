"""The efficient engine's pieces: each part of the gist's gpt(), forward and backward, on lists of floats,
bit for bit what the original engine computes with `Value`s. Floating-point addition is not associative,
so that takes three rules:

1. Same operations. Every float operation is the one a `Value` does: `x / n` is `x * n**-1`,
   `a - b` is `a + (-b)`, `-y` is `y * -1`, `sqrt` is `** -0.5`, and so on.

2. Same order inside a forward sum. `sum()` of Values adds left to right starting from the int 0.
   `sum(map(mul, a, b), ZERO)` does the same at C speed: ZERO is a float *subclass*, which turns off
   sum()'s float fast path (compensated summation since Python 3.12). `math.sumprod` and `math.fsum`
   round differently and are not used. The matrix products write the sum out instead,
   `0.0 + w0 * x0 + w1 * x1 + ...` (generated once per length in written_out.py): the same
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
import math
from itertools import chain, repeat
from operator import add, itemgetter, mul

from .written_out import ZERO, dot, matvec, weight_grad

_ZEROS = repeat(ZERO)


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


class MlpWeights:
    """One MLP's weights, laid out for mlp_forward and mlp_backward (made once per step, or per sample).

    Their sums over some units only are written out (written_out.matvec) on the units' numbers, picked
    (`itemgetter`) from rows that end in an extra 0.0 (unit number 4 * n_embd, PAD): each picked list is
    padded with it to a multiple of 8 numbers, so that few lengths are compiled. A padding term is
    0.0 * 0.0 = +0.0, the last of a sum from +0.0, which is never -0.0: it changes no bit."""
    __slots__ = ('w1', 'w1_flat', 'w1_cols', 'w2_rows', 'w2_cols', 'w2_cols_rev', 'finite', 'w2_max')

    def __init__(self, w1, w2):
        self.w1, self.w1_flat = w1, flatten(w1)
        self.w1_cols = [col + (0.0,) for col in zip(*w1)]  # xn_m's weights, unit by unit, then PAD
        self.w2_rows = [tuple(row) + (0.0,) for row in w2]
        self.w2_cols = list(zip(*w2))  # unit j's fc2 weights
        self.w2_cols_rev = [col[::-1] for col in self.w2_cols]  # ... last row first
        # whether the MLP may skip inactive units at all (both weights finite: an inf or nan makes these
        # sums inf or nan), and the largest |fc2 weight|, for mlp_backward's overflow check
        self.finite = math.isfinite(sum(self.w1_flat)) and math.isfinite(sum(map(sum, w2)))
        self.w2_max = max(max(map(max, w2)), -min(map(min, w2))) if self.finite else math.inf


def _padded(units, numbers, pad):
    """The units padded with PAD, and their numbers with 0.0, to a multiple of 8."""
    extra = -len(units) % 8
    return itemgetter(*units, *[pad] * extra), numbers + [0.0] * extra


def mlp_forward(xn, mlp):
    """fc2(relu(fc1(xn))). Returns the output, fc1's output h and the active units (h > 0), in order.

    An inactive unit gives 0 (0.0 gives the same products). With finite weights its terms are zeros
    and fc2's sums skip them; otherwise (mlp.finite False) every term is taken. The sums run over the
    units in ascending order: out[i] = ((0 + w2[i][j0]*a_j0) + w2[i][j1]*a_j1) + ..."""
    h = matvec(mlp.w1_flat, xn)
    active = [j for j, hj in enumerate(h) if hj > 0]
    units = active if mlp.finite else range(len(h))
    if not units:
        return [0.0] * len(mlp.w2_rows), h, active
    pick, acts = _padded(units, [h[j] if h[j] > 0 else 0.0 for j in units], len(h))
    return matvec(flatten(map(pick, mlp.w2_rows)), acts), h, active


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


def mlp_backward(xn, h, active, dout, mlp, taken):
    """Backward of mlp_forward at one position: returns the gradient of xn, and appends to `taken` what
    the weights' gradients need from this position (see mlp_weight_grads).

    Inactive units are left out when the weights are finite (mlp.finite) and all that meets their zeros
    is finite: dout and xn, and fc2's input gradient at those units, which is bounded by
    max|w2| * sum|dout|. Otherwise every unit is taken: an inactive one gets 0.0 * its gradient, nan
    for inf, as in the original.
    Orders: fc2's input gradient sums over its rows last first; fc1's input gradient over the units
    last first; the weight gradients over positions last first (the caller goes last to first)."""
    if mlp.finite and sum(map(abs, dout)) * mlp.w2_max < 1e300 and math.isfinite(sum(xn)):
        units = active
        relu = None  # relu's local gradient is 1.0 at every unit taken
    else:
        units = range(len(h))
        relu = [float(hj > 0) for hj in h]
    if not units:
        return [0.0] * len(xn)  # and no terms for the weights' gradients
    dh = matvec(flatten([mlp.w2_cols_rev[j] for j in units]), dout[::-1])  # fc2's rows last first
    if relu is not None:
        dh = [r * d for r, d in zip(relu, dh)]
    taken.append((units, [h[j] if h[j] > 0 else 0.0 for j in units], dh, dout, xn))
    # xn_m gets w1[j][m] * dh_j, units last first
    pick, dh_rev = _padded(units[::-1], dh[::-1], len(h))
    return matvec(flatten(map(pick, mlp.w1_cols)), dh_rev)


def mlp_weight_grads(taken, n_units, n_embd):
    """fc1's and fc2's weight gradients, from what mlp_backward took at each position (in the order the
    positions were processed, last first): w1[j][m] gets xn_m * dh_j and w2[i][j] gets dout_i * act_j
    once per position that took unit j, summed from 0.0 in that order (weight_grad, unit by unit).
    Returns fc1's gradient by rows and fc2's by columns."""
    per_unit = [[] for _ in range(n_units)]
    for units, acts, dh, dout, xn in taken:
        for j, a, d in zip(units, acts, dh):
            per_unit[j].append((dout, (a,), xn, (d,)))
    dw1, dw2_cols = [], []
    for terms in per_unit:
        if not terms:
            dw1.append([0.0] * n_embd)
            dw2_cols.append([0.0] * n_embd)
            continue
        douts, acts, xns, dhs = zip(*terms)
        dw2_cols.append(weight_grad(douts, acts))
        dw1.append(weight_grad(xns, dhs))
    return dw1, dw2_cols


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


