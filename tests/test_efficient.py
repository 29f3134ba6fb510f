"""The efficient engine: bit for bit the original engine on the running interpreter, and its hand-written
backward passes checked against finite differences."""
import json
import math
import random
import struct

import pytest

from microgpt import Config, Trainer
from microgpt import pieces as E
from microgpt import written_out as W
from microgpt.state import from_json, to_json

from engine_cases import (CONFIGS, FORWARD_ONLY_CASES, NON_FINITE_CASES, WORDS, bits_of, engines_difference,
                          non_finite_grads, original_grads, run_difference)


@pytest.mark.parametrize('name', list(CONFIGS))
def test_engines_agree_bit_for_bit(name):
    assert engines_difference(name) is None


@pytest.mark.browser  # Node.js runs Pyodide
def test_engines_agree_bit_for_bit_under_pyodide(pyodide_engines):
    """The same cases on the page's interpreter (CPython 3.14 in WebAssembly, another sum() and maths library),
    with the package the site serves, run by Pyodide in Node.js (started at the session's start: conftest.py)."""
    run = pyodide_engines.result()
    lines = run.stdout.splitlines()
    assert run.returncode == 0, run.stdout + run.stderr
    assert lines[0].startswith('python 3.14') and lines[0].endswith('emscripten')
    assert lines[1:] == [f'ok {name}' for name in [*CONFIGS, *NON_FINITE_CASES]] + [
        f'ok forward only, {name}' for name in FORWARD_ONLY_CASES] + ['ok written-out sums']


@pytest.mark.parametrize('first,second', [('original', 'efficient'), ('efficient', 'original')])
def test_state_moves_between_engines(first, second):
    config, docs = Config(num_steps=10, n_layer=2, seed=5), WORDS
    whole = Trainer(config, docs, first)
    losses = [whole.step().loss for _ in range(10)]
    part = Trainer(config, docs, first)
    head = [part.step().loss for _ in range(4)]
    moved = from_json(json.loads(json.dumps(to_json(part))), engine=second)
    assert moved.engine_name == second
    tail = [moved.step().loss for _ in range(6)]
    assert head + tail == losses
    assert run_difference(moved, whole) is None
    assert moved.sample(8) == whole.sample(8)


@pytest.mark.parametrize('name', ['default', 'two layers', 'tiny vocab, long document', 'eight heads, three layers'])
def test_gradients_equal_the_value_graphs(name):
    config, docs = CONFIGS[name]
    original, efficient = Trainer(config, docs, 'original'), Trainer(config, docs, 'efficient')
    for i in range(3):
        tokens = original.tokenizer.encode(original.docs[i])
        loss, grads = original_grads(original, tokens)
        e_loss, e_grads = efficient.engine.loss_and_grads(tokens)
        assert e_loss == loss
        for key in grads:  # Value grads are int 0 where a weight was not used: compare as floats
            assert [[float(g) for g in row] for row in grads[key]] == e_grads[key], key


# -- finite differences --------------------------------------------------------------------------------
H = 1e-6


def numeric_grad(f, xs, i):
    up, down = list(xs), list(xs)
    up[i] += H
    down[i] -= H
    return (f(up) - f(down)) / (2 * H)


def vec(rng, n, scale=1.0):
    return [rng.uniform(-scale, scale) for _ in range(n)]


def close(a, b):
    return a == pytest.approx(b, rel=1e-5, abs=1e-7)


def test_rmsnorm_backward():
    rng = random.Random(0)
    x, dout = vec(rng, 8), vec(rng, 8)
    out, scale, msp = E.rmsnorm(x)
    dx = E.rmsnorm_backward(x, scale, msp, dout)
    f = lambda xs: sum(o * d for o, d in zip(E.rmsnorm(xs)[0], dout))
    assert all(close(dx[i], numeric_grad(f, x, i)) for i in range(8))
    residual = vec(rng, 8)  # a residual add's gradient comes on top
    assert E.rmsnorm_backward(x, scale, msp, dout, residual) == pytest.approx([a + b for a, b in zip(dx, residual)])


def test_attention_backward():
    """Three heads over three cached positions: dq, and the terms added into the (longer) key and value
    gradient buffers, against finite differences; buffer entries past the cache stay untouched."""
    rng = random.Random(1)
    n_head, hd, t = 3, 2, 3
    n_embd = n_head * hd
    q = vec(rng, n_embd)
    keys, values = vec(rng, t * n_embd), vec(rng, t * n_embd)  # flat: position after position
    dout = vec(rng, n_embd)
    inv = (hd ** 0.5) ** -1
    out, parts = E.attention(q, keys, values, n_head, inv)
    before_k, before_v = vec(rng, (t + 1) * n_embd), vec(rng, (t + 1) * n_embd)
    dkeys, dvalues = list(before_k), list(before_v)
    dq = E.attention_backward(q, keys, values, parts, dout, n_head, inv, dkeys, dvalues)

    def loss(q_, keys_, values_):
        return sum(o * d for o, d in zip(E.attention(q_, keys_, values_, n_head, inv)[0], dout))
    assert all(close(dq[i], numeric_grad(lambda v: loss(v, keys, values), q, i)) for i in range(n_embd))
    for i in range(t * n_embd):
        assert close(dkeys[i] - before_k[i], numeric_grad(lambda v: loss(q, v, values), keys, i))
        assert close(dvalues[i] - before_v[i], numeric_grad(lambda v: loss(q, keys, v), values, i))
    assert dkeys[t * n_embd:] == before_k[t * n_embd:] and dvalues[t * n_embd:] == before_v[t * n_embd:]


def test_loss_backward():
    rng = random.Random(2)
    logits, target, n = vec(rng, 6, 3.0), 4, 3

    def loss(zs):
        exps, total, inv = E.softmax_parts(zs)
        return -math.log(exps[target] * inv) / n
    dlogits = E.loss_backward(*E.softmax_parts(logits), target, n)
    assert all(close(dlogits[i], numeric_grad(loss, logits, i)) for i in range(6))


def test_linear_backwards():
    rng = random.Random(3)
    w = [vec(rng, 5) for _ in range(4)]
    x, g = vec(rng, 5), vec(rng, 4)
    f_x = lambda xs: sum(a * b for a, b in zip(W.matvec(E.flatten(w), xs), g))
    dx = E.input_grad(E.flatten(E.transpose_rev(w)), g)
    assert all(close(dx[i], numeric_grad(f_x, x, i)) for i in range(5))
    dx_lm = E.lm_head_input_grad(E.flatten(E.transpose_rev(w)), w[2], 2, g)  # lm_head: another order
    assert dx_lm == pytest.approx(dx)
    xs, gs = [vec(rng, 5) for _ in range(3)], [vec(rng, 4) for _ in range(3)]
    dw = [W.weight_grad(gs, xs)[i * 5:(i + 1) * 5] for i in range(4)]  # flat: row after row
    for i in range(4):
        f_w = lambda row: sum(sum(a * b for a, b in zip(W.matvec(E.flatten(w[:i] + [row] + w[i + 1:]), x_), g_))
                              for x_, g_ in zip(xs, gs))
        assert all(close(dw[i][m], numeric_grad(f_w, w[i], m)) for m in range(5))


def test_mlp_backward():
    """fc2(relu(fc1(x))) over three positions: gradients of the input and of both weights against finite
    differences, and the same bits whether inactive units are skipped or every unit is taken."""
    rng = random.Random(5)
    n_in, n_hidden = 5, 7
    w1, w2 = [vec(rng, n_in) for _ in range(n_hidden)], [vec(rng, n_hidden) for _ in range(n_in)]
    xs, gs = [vec(rng, n_in) for _ in range(3)], [vec(rng, n_in) for _ in range(3)]

    def weights(w1_, w2_, skip=True):
        mlp = E.MlpWeights(w1_, w2_)
        if not skip:  # take every unit, as when a weight is not finite
            mlp.finite, mlp.w2_max = False, math.inf
        return mlp

    def forward(x, w1_, w2_, skip=True):
        return E.mlp_forward(x, weights(w1_, w2_, skip))

    def f(w1_, w2_, xs_):  # sum over positions of mlp(x) . g
        return sum(sum(o * g for o, g in zip(forward(x, w1_, w2_)[0], g_)) for x, g_ in zip(xs_, gs))

    def backward(skip):
        taken, dxs = [], []
        for x, g in reversed(list(zip(xs, gs))):
            out, h, active = forward(x, w1, w2, skip)
            dxs.append(E.mlp_backward(x, h, active, g, weights(w1, w2, skip), taken))
        dw1, dw2_cols = E.mlp_weight_grads(taken, n_hidden, n_in)
        return dxs[::-1], dw1, [list(row) for row in zip(*dw2_cols)]

    assert E.MlpWeights(w1, w2).finite is True
    skipped, every_unit = backward(True), backward(False)
    assert bits_of(skipped) == bits_of(every_unit)
    assert any(len(forward(x, w1, w2)[2]) < n_hidden for x in xs)  # some unit was skipped
    dxs, dw1, dw2 = skipped
    for p, x in enumerate(xs):
        assert all(close(dxs[p][m], numeric_grad(lambda x_: f(w1, w2, xs[:p] + [x_] + xs[p + 1:]), x, m)) for m in range(n_in))
    for i in range(n_hidden):
        assert all(close(dw1[i][m], numeric_grad(lambda r: f(w1[:i] + [r] + w1[i + 1:], w2, xs), w1[i], m)) for m in range(n_in))
    for i in range(n_in):
        assert all(close(dw2[i][j], numeric_grad(lambda r: f(w1, w2[:i] + [r] + w2[i + 1:], xs), w2[i], j)) for j in range(n_hidden))


@pytest.mark.parametrize('target', [0, 3, 6])
def test_lm_head_input_grad_order(target):
    """lm_head's input gradient sums over the rows last first without the target, then the target's term:
    exactly (the plain ascending order rounds differently in some column)."""
    rng = random.Random(target)
    w = [vec(rng, 12) for _ in range(7)]
    dlogits = vec(rng, 7)
    expected = []
    for m in range(12):
        acc = 0.0
        for i in reversed(range(7)):
            if i != target:
                acc += w[i][m] * dlogits[i]
        expected.append(acc + w[target][m] * dlogits[target])
    got = E.lm_head_input_grad(E.flatten(E.transpose_rev(w)), w[target], target, dlogits)
    assert bits_of(got) == bits_of(expected)
    assert bits_of(got) != bits_of([sum(w[i][m] * dlogits[i] for i in range(7)) for m in range(12)])  # order shows


@pytest.mark.parametrize('positions', [1, 3, 9, 10, 16])
def test_weight_grad_adds_positions_in_order(positions):
    """weight_grad gives exactly the sum over positions in the order given, from +0.0, for short and long
    documents."""
    rng = random.Random(positions)
    gs, xs = [vec(rng, 4, 1e3) for _ in range(positions)], [vec(rng, 3, 1e-3) for _ in range(positions)]
    expected = [[0.0] * 3 for _ in range(4)]
    for g, x in zip(gs, xs):
        for i in range(4):
            for m in range(3):
                expected[i][m] = expected[i][m] + x[m] * g[i]
    assert bits_of(W.weight_grad(gs, xs)) == bits_of(E.flatten(expected))  # flat: row after row


def test_mlp_checks():
    def checks(w1, w2):
        mlp = E.MlpWeights(w1, w2)
        return mlp.finite, mlp.w2_max
    assert checks([[1.0, -2.0]], [[0.5], [-0.75]]) == (True, 0.75)
    assert checks([[1.0, math.nan]], [[0.5], [-0.5]]) == (False, math.inf)
    assert checks([[1.0, 2.0]], [[math.inf], [0.5]]) == (False, math.inf)


def test_whole_step_gradient_against_finite_differences():
    config = Config(n_embd=8, n_head=2, n_layer=2, block_size=6)
    trainer = Trainer(config, WORDS, 'efficient')
    engine = trainer.engine
    tokens = trainer.tokenizer.encode(trainer.docs[0])
    _, grads = engine.loss_and_grads(tokens)
    rng = random.Random(4)
    for name in engine._w:
        for _ in range(3):
            i = rng.randrange(len(engine._w[name]))
            j = rng.randrange(len(engine._w[name][0]))
            if name == 'wpe' and i >= len(tokens) - 1:
                continue  # an unused position has no gradient to check
            row = engine._w[name][i]
            old = row[j]
            row[j] = old + H
            up = engine.loss_and_grads(tokens)[0]
            row[j] = old - H
            down = engine.loss_and_grads(tokens)[0]
            row[j] = old
            assert grads[name][i][j] == pytest.approx((up - down) / (2 * H), rel=1e-4, abs=1e-7), (name, i, j)


def test_plain_sum_adds_left_to_right():
    # sum() over floats rounds differently from Values' left-to-right adds since Python 3.12; dot() must not
    xs = [1e16, 1.0, -1e16, 1.0]
    plain = 0
    for x in xs:
        plain = plain + x
    assert W.dot(xs, [1.0] * 4) == plain and type(W.dot(xs, [1.0] * 4)) is float


@pytest.mark.parametrize('k', [1, 3, 16, 27])
def test_written_out_sums_add_like_dot(k):
    """matvec's and weight_grad's generated expressions: the bits of dot() row by row, for any length,
    with rounding that shows the order, zeros of both signs, inf and nan."""
    rng = random.Random(k)
    x = [rng.uniform(-1, 1) * 10.0 ** rng.randint(-8, 8) for _ in range(k)]
    rows = [[rng.uniform(-1, 1) * 10.0 ** rng.randint(-8, 8) for _ in range(k)] for _ in range(5)]
    rows += [[-0.0] * k, [math.inf] + [1.0] * (k - 1), [math.nan] * k]
    assert bits_of(W.matvec(E.flatten(rows), x)) == bits_of([W.dot(row, x) for row in rows])
    assert math.copysign(1.0, W.matvec([-0.0] * k, [1.0] * k)[0]) == 1.0  # -0.0 products sum to +0.0, as from 0
    gs, xs = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(k)], [[rng.uniform(-1, 1)] * 2 for _ in range(k)]
    assert bits_of(W.weight_grad(gs, xs)) == bits_of([W.dot(g, x_) for g in zip(*gs) for x_ in zip(*xs)])


@pytest.mark.parametrize('case', NON_FINITE_CASES)
def test_gradients_equal_the_value_graphs_with_non_finite_numbers(case):
    """Where ReLU's zeros meet inf or nan (0.0 * inf is nan), no term may be skipped: the gradients keep
    the original's bits, nan for nan and inf for inf."""
    (loss, grads), (e_loss, e_grads) = non_finite_grads(case)
    assert e_loss == loss
    assert any(b == 'nan' or math.isinf(struct.unpack('<d', b)[0]) for mat in grads.values() for row in mat
               for b in row)  # the case matters: some gradient is not finite
    for key in grads:
        assert e_grads[key] == grads[key], key
