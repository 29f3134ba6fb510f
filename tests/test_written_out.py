"""The efficient engine's written-out sums (written_out.py): the longest the engine writes follows from the
settings' and the dataset's limits and stays under LONGEST_WRITTEN_OUT; one step at those limits runs, bit for
bit the original's; longer sums fall back to dot(); the generated functions have readable names."""
import random
import traceback

import pytest

from microgpt import Config, Trainer
from microgpt import written_out as E
from microgpt.config import LIMITS
from microgpt.data import MAX_CHARS
from microgpt.pieces import flatten

from engine_cases import bits_of, run_difference, written_out_difference


def test_the_longest_sum_follows_from_the_limits():
    assert E.longest_written_out_sum() == max(MAX_CHARS + 1, 4 * LIMITS['n_embd'], LIMITS['block_size'])
    assert E.longest_written_out_sum() <= E.LONGEST_WRITTEN_OUT


def test_the_sums_at_their_longest_compile_and_add_like_dot():
    assert written_out_difference() is None


@pytest.fixture
def lengths(monkeypatch):
    """The lengths of the written-out sums the engine asks for."""
    seen = {'matvec': set(), 'weight_grad': set()}
    matvec, weight_grad = E._written_out_matvec, E._written_out_weight_grad
    monkeypatch.setattr(E, '_written_out_matvec', lambda k: seen['matvec'].add(k) or matvec(k))
    monkeypatch.setattr(E, '_written_out_weight_grad', lambda n: seen['weight_grad'].add(n) or weight_grad(n))
    return seen


def one_step_both_engines(config, docs):
    original, efficient = Trainer(config, docs, 'original'), Trainer(config, docs, 'efficient')
    assert original.step() == efficient.step()
    assert run_difference(original, efficient) is None
    return efficient


def test_one_step_at_the_largest_vocabulary_and_embedding(lengths):
    """500 distinct characters (vocab 501) and n_embd 128, the other settings tiny: lm_head's input gradient
    sums 501 terms, q, k and v's 384."""
    chars = ''.join(chr(0x4e00 + i) for i in range(MAX_CHARS))
    docs = [chars[i:i + 3] for i in range(0, MAX_CHARS, 3)]
    config = Config(n_embd=LIMITS['n_embd'], n_head=1, n_layer=1, block_size=2, num_steps=1)
    trainer = one_step_both_engines(config, docs)
    assert trainer.vocab_size == MAX_CHARS + 1
    assert max(lengths['matvec']) == MAX_CHARS + 1 and 3 * LIMITS['n_embd'] in lengths['matvec']


def test_one_step_at_the_longest_block(lengths):
    """block_size 128 and a document longer than it: each weight gradient sums 128 positions."""
    docs = ['ab' * 70, 'ba' * 70]  # both longer than the block
    config = Config(n_embd=4, n_head=1, n_layer=1, block_size=LIMITS['block_size'], num_steps=1)
    one_step_both_engines(config, docs)
    assert max(lengths['weight_grad']) == LIMITS['block_size']


def test_longer_sums_fall_back_to_dot():
    k = E.LONGEST_WRITTEN_OUT + 1
    rng = random.Random(k)
    x = [rng.uniform(-1, 1) * 10.0 ** rng.randint(-8, 8) for _ in range(k)]
    rows = [[rng.uniform(-1, 1) for _ in range(k)] for _ in range(3)]
    compiled = E._written_out_matvec.cache_info().currsize, E._written_out_weight_grad.cache_info().currsize
    assert bits_of(E.matvec(flatten(rows), x)) == bits_of([E.dot(row, x) for row in rows])
    gs, xs = [[a, b] for a, b in zip(x, rows[0])], [[c] for c in rows[1]]
    assert bits_of(E.weight_grad(gs, xs)) == bits_of([E.dot(x, rows[1]), E.dot(rows[0], rows[1])])
    # nothing was written out
    assert (E._written_out_matvec.cache_info().currsize, E._written_out_weight_grad.cache_info().currsize) == compiled


def test_generated_functions_are_named_in_tracebacks():
    matvec, weight_grad = E._written_out_matvec(3), E._written_out_weight_grad(2)
    assert (matvec.__name__, matvec.__qualname__, matvec.__module__) == ('matvec_3', 'matvec_3', 'microgpt.written_out')
    assert matvec.__code__.co_filename == '<matvec 3>'
    assert (weight_grad.__name__, weight_grad.__code__.co_filename) == ('weight_grad_2', '<weight_grad 2>')
    try:
        matvec([1.0, 2.0, 3.0], [1.0, 2.0, 'x'])
    except TypeError as e:
        text = ''.join(traceback.format_exception(type(e), e, e.__traceback__))
    assert 'File "<matvec 3>", line 3, in matvec_3' in text
    assert 'return [0.0 + w0 * x0 + w1 * x1 + w2 * x2 for w0, w1, w2, in zip(*[iter(flat)] * 3)]' in text
