"""The engine protocol (microgpt/engine.py): both engines implement it; the forward-only passes (loss,
attention maps) agree bit for bit and change nothing; the Trainer uses nothing else of an engine."""
import inspect
import math
import random

import pytest

from microgpt import Config, ConfigError, Trainer, format_log_row
from microgpt.efficient import EfficientEngine
from microgpt.engine import Engine
from microgpt.model import OriginalEngine, init_weights
from microgpt.state import from_json, to_json

from engine_cases import FORWARD_ONLY_CASES, WORDS, bits, forward_only_difference, run_difference

ENGINES = {'original': OriginalEngine, 'efficient': EfficientEngine}
PROTOCOL = [name for name in vars(Engine) if not name.startswith('_')] + ['name']
SMALL = Config(n_embd=8, n_head=2, n_layer=2, block_size=8, num_steps=6, seed=4)


@pytest.mark.parametrize('engine', list(ENGINES))
def test_engines_implement_the_protocol(engine):
    cls = ENGINES[engine]
    assert cls.name == engine
    for name in PROTOCOL:
        assert hasattr(cls, name), name
        if callable(getattr(Engine, name, None)):
            # the same parameters as the protocol documents
            assert list(inspect.signature(getattr(cls, name)).parameters) == \
                list(inspect.signature(getattr(Engine, name)).parameters), name
    assert {'weights', 'adam_state', 'load_adam_state', 'train_step', 'new_cache', 'next_token_probs', 'loss',
            'attention_maps'} <= set(PROTOCOL)


@pytest.mark.parametrize('name', FORWARD_ONLY_CASES)
def test_forward_only_passes_agree_and_change_nothing(name):
    assert forward_only_difference(name) is None


def fresh_engine(engine, config=SMALL, docs=WORDS):
    t = Trainer(config, docs, engine)
    return t, t.tokenizer.encode(t.docs[0])


@pytest.mark.parametrize('engine', list(ENGINES))
def test_loss_is_the_loss_train_step_reports(engine):
    trainer, tokens = fresh_engine(engine)
    before = trainer.engine.weights(), trainer.engine.adam_state()
    loss = trainer.engine.loss(tokens)
    assert (trainer.engine.weights(), trainer.engine.adam_state()) == before  # no update
    assert bits(trainer.engine.loss(tokens)) == bits(loss)  # and no gradient left over to change the next
    assert bits(trainer.step().loss) == bits(loss)


@pytest.mark.parametrize('engine', list(ENGINES))
def test_attention_maps_shape_and_values(engine):
    """maps[layer][head][t][s] for t < min(block_size, len(tokens) - 1), s <= t; each row a softmax. For the
    first layer, against attention computed here from the weights (plain floats, approximately)."""
    config = Config(n_embd=8, n_head=2, n_layer=2, block_size=6, num_steps=3, seed=8)
    trainer = Trainer(config, WORDS, engine)
    trainer.train(2)
    long_doc = max(trainer.docs, key=len)
    assert len(long_doc) + 1 > config.block_size
    for doc in (long_doc, 'cy'):
        tokens = trainer.tokenizer.encode(doc)
        n = min(config.block_size, len(tokens) - 1)
        maps = trainer.attention_maps(doc)
        assert len(maps) == config.n_layer and all(len(layer) == config.n_head for layer in maps)
        for layer in maps:
            for head in layer:
                assert [len(row) for row in head] == [t + 1 for t in range(n)]
                assert all(sum(row) == pytest.approx(1.0) and min(row) >= 0 for row in head)
        expected = first_layer_attention(trainer.engine.weights(), tokens[:n], config)
        assert flat(maps[0]) == pytest.approx(flat(expected), rel=1e-9) and len(flat(expected)) > 10


def flat(nested):
    return [x for head in nested for row in head for x in row]


def first_layer_attention(w, tokens, config):
    """Layer 0's attention weights from the weights: q, k of rmsnorm(rmsnorm(wte + wpe)), a softmax per head."""
    def rmsnorm(x):
        scale = (sum(v * v for v in x) / len(x) + 1e-5) ** -0.5
        return [v * scale for v in x]

    def linear(x, m):
        return [sum(a * b for a, b in zip(row, x)) for row in m]
    hd = config.n_embd // config.n_head
    qs, ks = [], []
    for pos, tok in enumerate(tokens):
        x = rmsnorm(rmsnorm([a + b for a, b in zip(w['wte'][tok], w['wpe'][pos])]))
        qs.append(linear(x, w['layer0.attn_wq']))
        ks.append(linear(x, w['layer0.attn_wk']))
    maps = []
    for h in range(config.n_head):
        rows = []
        for t in range(len(tokens)):
            logits = [sum(qs[t][h * hd + j] * ks[s][h * hd + j] for j in range(hd)) / hd ** 0.5 for s in range(t + 1)]
            exps = [math.exp(z - max(logits)) for z in logits]
            rows.append([e / sum(exps) for e in exps])
        maps.append(rows)
    return maps


@pytest.mark.parametrize('engine', list(ENGINES))
def test_a_run_with_forward_only_calls_logs_the_same_bytes(engine):
    """loss() and attention_maps() between every step (and sampling with another generator) leave the
    trajectory alone: the same log bytes and the same final state as a run without them."""
    plain, probed = Trainer(SMALL, WORDS, engine), Trainer(SMALL, WORDS, engine)
    plain_log = [format_log_row(plain.step()) for _ in range(SMALL.num_steps)]
    probed_log = []
    while not probed.done:
        for doc in probed.docs[:2]:
            probed.loss(doc)
            probed.attention_maps(doc)
        probed.sample(1, rng=random.Random(0))
        probed_log.append(format_log_row(probed.step()))
    assert '\n'.join(probed_log).encode() == '\n'.join(plain_log).encode()
    assert run_difference(probed, plain) is None
    assert probed.sample(4) == plain.sample(4)


@pytest.mark.parametrize('engine', list(ENGINES))
def test_engines_read_no_schedule_or_sampling_setting(engine):
    """An engine reads the model's shape and Adam's betas and eps only: built with another num_steps,
    learning_rate, temperature and seed, it gives the same bits for the same lr_t."""
    weights = init_weights(SMALL, 20, random.Random(1))
    other = SMALL.replace(num_steps=999, learning_rate=0.5, temperature=2.0, seed=77)
    a, b = ENGINES[engine](SMALL, weights), ENGINES[engine](other, weights)
    tokens = [19, 3, 7, 1, 12, 19]
    for step in range(3):
        assert bits(a.train_step(tokens, step, 0.01)) == bits(b.train_step(tokens, step, 0.01))
    assert a.weights() == b.weights() and a.adam_state() == b.adam_state()


@pytest.mark.parametrize('engine', list(ENGINES))
def test_adam_state_out_and_in(engine):
    trainer, tokens = fresh_engine(engine)
    trainer.train(2)
    m, v = trainer.engine.adam_state()
    assert len(m) == len(v) == trainer.num_params and any(m) and any(v)
    m.append(1.0)  # a copy: changing it changes nothing
    assert len(trainer.engine.adam_state()[0]) == trainer.num_params
    copy = ENGINES[engine](SMALL, trainer.engine.weights())
    assert copy.adam_state() == ([0.0] * trainer.num_params, [0.0] * trainer.num_params)
    copy.load_adam_state(*trainer.engine.adam_state())
    assert bits(copy.train_step(tokens, 2, 0.005)) == bits(trainer.engine.train_step(tokens, 2, 0.005))
    assert copy.weights() == trainer.engine.weights() and copy.adam_state() == trainer.engine.adam_state()


class ProtocolOnly:
    """An engine seen only through the protocol: reading anything else, or writing anything, fails."""

    def __init__(self, engine):
        object.__setattr__(self, '_engine', engine)

    def __getattr__(self, name):
        if name not in PROTOCOL:
            raise AssertionError(f'the Trainer read engine.{name}, which is not in the protocol')
        return getattr(self._engine, name)

    def __setattr__(self, name, value):
        raise AssertionError(f'the Trainer wrote engine.{name}')


@pytest.mark.parametrize('engine', list(ENGINES))
def test_the_trainer_uses_the_engine_only_through_the_protocol(engine):
    whole = Trainer(SMALL, WORDS, engine)
    results = whole.train(SMALL.num_steps)
    t = Trainer(SMALL, WORDS, engine)
    t = Trainer.resume(t.config, t.docs, t.tokenizer, t.rng, ProtocolOnly(t.engine), t.step_count)
    got = t.train(3)
    t.keep_settings(num_steps=SMALL.num_steps + 1)
    t.keep_settings(num_steps=SMALL.num_steps)
    t.loss(t.docs[0])
    t.attention_maps(t.docs[0])
    state = to_json(t)
    assert state['engine'] == engine
    got += from_json(state, engine).train(10)
    assert got == results
