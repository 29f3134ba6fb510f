"""The engine: golden equality with the reference, autograd, state continuity, sampling, config and documents.

Golden values (tests/golden/<case>.json) were made by tests/golden/make_golden.py: it runs the reference
program with only its hyperparameter lines changed, plus one statement writing repr(loss.data) of every step to
stderr, on the word lists of tests/reference.py, and records the platform it ran on. math.exp, math.log, ** and
random.gauss can differ in the last bit between C libraries (glibc, macOS, Pyodide), so losses compare exactly
on the golden file's platform and within 1e-9 relative elsewhere; samples compare exactly everywhere (elsewhere
they could only differ if a weight landed on a sampling boundary). test_cli.py runs the reference itself.
"""
import gc
import json
import math
import random
import sys
import threading

import pytest

import reference as R
from microgpt import Config, ConfigError, DatasetError, StateError, Trainer, Value, parse_documents, read_documents
from microgpt import config as config_module
from microgpt import data as data_module
from microgpt.state import from_json, to_json


def train(trainer, until=None):
    losses = []
    until = trainer.config.num_steps if until is None else until
    while trainer.step_count < until:
        losses.append(trainer.step().loss)
    return losses


# -- golden equality with the reference ----------------------------------------------------------------------
@pytest.mark.parametrize('name', [pytest.param(name, marks=pytest.mark.golden((name, 'original'))) for name in R.CASES])
def test_losses_and_samples_equal_the_reference(name, golden_runs):
    gold = R.golden(name)
    config = R.case_config(name)
    assert gold['config'] == R.CASES[name]['config'] and gold['words'] == R.CASES[name]['words'], \
        'golden file out of date: run tests/golden/make_golden.py'
    trainer = Trainer(config, R.case_docs(name))  # not trained here: the session's run of the case (golden_runs)
    # the trained documents include ones longer than the block: the truncation to block_size is compared too
    assert any(len(doc) + 1 > config.block_size for doc in trainer.docs[:config.num_steps])
    assert trainer.num_params == int(gold['stdout'].split('num params: ')[1].split('\n')[0])
    run = golden_runs.get(name, 'original')  # the CLI, the original engine
    R.assert_losses_match(run.losses, gold['losses'], exact=R.same_platform(gold))
    assert run.samples == gold['samples']


def test_golden_cases_differ_from_the_default_in_every_setting():
    default = R.CASES['default']['config']
    others = [R.CASES[name]['config'] for name in R.CASES if name != 'default']
    for key in ('seed', 'n_embd', 'n_head', 'n_layer', 'block_size', 'temperature', 'learning_rate', 'beta1', 'beta2'):
        assert any(other[key] != default[key] for other in others), key
    assert R.CASES['big']['config']['n_layer'] == 4 and R.CASES['big']['config']['n_embd'] == 64


def recursive_backward(self):
    """The reference's backward: recursive topological sort, as the gist writes it."""
    topo = []
    visited = set()

    def build_topo(v):
        if v not in visited:
            visited.add(v)
            for child in v._children:
                build_topo(child)
            topo.append(v)
    build_topo(self)
    self.grad = 1
    for v in reversed(topo):
        for child, local_grad in zip(v._children, v._local_grads):
            child.grad += local_grad * v.grad


def test_big_model_trains_where_the_recursive_backward_dies(monkeypatch):
    # n_layer=4, n_embd=64: the reference's recursive backward exceeds the default recursion limit
    # (make_golden.py checked the reference itself dies: recorded in the golden file) ...
    assert R.golden('big').get('reference_with_default_recursion_limit') == 'RecursionError'
    config = R.case_config('big').replace(block_size=1)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # CPython's default
    try:
        with monkeypatch.context() as m:
            m.setattr(Value, 'backward', recursive_backward)
            with pytest.raises(RecursionError):
                Trainer(config, R.case_docs('big')).step()
        # ... while the package's backward trains it under the same limit (the golden test compares the losses)
        result = Trainer(config, R.case_docs('big')).step()
        assert math.isfinite(result.loss)
    finally:
        sys.setrecursionlimit(limit)


# -- autograd --------------------------------------------------------------------------------------------------
OPS = {
    'add': (lambda a, b: a + b, 2),
    'add_number': (lambda a: a + 2.5, 1),
    'radd': (lambda a: 2.5 + a, 1),
    'mul': (lambda a, b: a * b, 2),
    'mul_number': (lambda a: a * -1.5, 1),
    'rmul': (lambda a: -1.5 * a, 1),
    'pow_int': (lambda a: a ** 3, 1),
    'pow_negative': (lambda a: a ** -0.5, 1),
    'pow_fraction': (lambda a: a ** 2.5, 1),
    'log': (lambda a: a.log(), 1),
    'exp': (lambda a: a.exp(), 1),
    'relu': (lambda a: a.relu(), 1),
    'neg': (lambda a: -a, 1),
    'sub': (lambda a, b: a - b, 2),
    'sub_number': (lambda a: a - 0.75, 1),
    'rsub': (lambda a: 0.75 - a, 1),
    'truediv': (lambda a, b: a / b, 2),
    'truediv_number': (lambda a: a / 4.0, 1),
    'rtruediv': (lambda a: 3.0 / a, 1),
    'same_node_twice': (lambda a: a * a + a, 1),
    'composite': (lambda a, b: ((a * b).exp() + (a - b).relu() * 2 - (b ** 2 + 1).log()) / (1 + a * a), 2),
}
POINTS = [(0.7, 1.3), (1.9, 0.4), (-0.6, 2.2)]


@pytest.mark.parametrize('op', list(OPS))
@pytest.mark.parametrize('point', POINTS)
def test_gradient_matches_finite_differences(op, point):
    f, arity = OPS[op]
    xs = list(point[:arity])
    if op in ('log', 'pow_negative', 'pow_fraction') and xs[0] < 0:
        xs[0] = -xs[0]  # the domain of log and fractional powers
    vals = [Value(x) for x in xs]
    out = f(*vals)
    assert isinstance(out, Value) and math.isfinite(out.data)
    out.backward()
    assert out.grad == 1
    h = 1e-6
    for i, x in enumerate(xs):
        up, down = list(xs), list(xs)
        up[i], down[i] = x + h, x - h
        numeric = (f(*[Value(u) for u in up]).data - f(*[Value(d) for d in down]).data) / (2 * h)
        assert vals[i].grad == pytest.approx(numeric, rel=1e-6, abs=1e-8), (op, i)


def test_relu_gradient_at_and_below_zero():
    for x, grad in [(0.0, 0.0), (-2.0, 0.0), (3.0, 1.0)]:
        v = Value(x)
        out = v.relu()
        out.backward()
        assert (out.data, v.grad) == (max(0, x), grad)


def test_operations_compute_as_the_gist_writes_them():
    # bit for bit the gist's formulas: division is a * b**-1, subtraction a + (-b), negation a * -1
    a, b = 0.1, 0.7
    assert (Value(a) / Value(b)).data == a * b ** -1
    assert (3.0 / Value(b)).data == 3.0 * b ** -1
    assert (Value(a) - Value(b)).data == a + (b * -1)
    assert (0.3 - Value(a)).data == 0.3 + (a * -1)
    assert (-Value(a)).data == a * -1
    assert Value(a).exp().data == math.exp(a) and Value(b).log().data == math.log(b)


class Recorded(float):
    """A local gradient that logs which (node, child) edge the chain rule used, in order."""
    log = None

    def __new__(cls, value, edge):
        obj = super().__new__(cls, value)
        obj.edge = edge
        return obj

    def __mul__(self, other):
        Recorded.log.append(self.edge)
        return float(self) * other


def deep_graph(iterations):
    """A long chain where every node feeds two others: about 8 nodes per iteration, depth about 4 per."""
    x, w = Value(0.3), Value(0.49)
    y = x
    for _ in range(iterations):
        y = y * w + (y * -0.5).relu() - x  # both branches live: y settles near -0.3
    # every node's local gradients log their use (same values, so the gradients are unchanged)
    nodes, seen, stack = [], {id(y)}, [y]
    while stack:
        v = stack.pop()
        nodes.append(v)
        for c in v._children:
            if id(c) not in seen:
                seen.add(id(c))
                stack.append(c)
    for k, v in enumerate(nodes):
        v._local_grads = tuple(Recorded(g, (k, j)) for j, g in enumerate(v._local_grads))
    return y, nodes


def test_deep_chain_backward_matches_the_recursive_one():
    y, nodes = deep_graph(12_500)
    assert len(nodes) >= 100_000
    # the package: no RecursionError at CPython's default limit
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    Recorded.log = []
    try:
        y.backward()
    finally:
        sys.setrecursionlimit(limit)
    order, grads = Recorded.log, [v.grad for v in nodes]
    for v in nodes:
        v.grad = 0
    # the gist's recursive version, given the stack and recursion limit it needs, in a thread
    Recorded.log = []
    errors = []

    def run():
        try:
            recursive_backward(y)
        except BaseException as e:  # reported below
            errors.append(e)
    old_stack = threading.stack_size(512 * 1024 * 1024)
    sys.setrecursionlimit(1_000_000)
    try:
        t = threading.Thread(target=run)
        t.start()
        t.join()
    finally:
        sys.setrecursionlimit(limit)
        threading.stack_size(old_stack)
    assert not errors
    assert len(order) == len(Recorded.log) and order == Recorded.log  # the same nodes in the same order
    assert [v.grad for v in nodes] == grads  # so the same floats, bit for bit
    assert any(g != 0 for g in grads)


# -- state export / import -------------------------------------------------------------------------------------
SMALL = dict(n_embd=8, n_head=2, n_layer=2, block_size=8, num_steps=8, seed=11, temperature=0.7)


def small_trainer():
    return Trainer(Config(**SMALL), R.WORDS['madeup'])


@pytest.fixture(scope='module')
def uninterrupted():
    t = small_trainer()
    losses = train(t)
    return losses, t.engine.weights(), list(t.engine.m), list(t.engine.v), t.sample(5)


@pytest.mark.parametrize('k', [0, 3, SMALL['num_steps']])
def test_export_import_continues_exactly(uninterrupted, k):
    t = small_trainer()
    losses = train(t, until=k)
    state = json.loads(json.dumps(to_json(t)))
    t2 = from_json(state)
    assert t2.step_count == k and t2.config == t.config and t2.docs == t.docs
    assert to_json(t2) == state  # the round trip loses nothing
    losses += train(t2)
    want_losses, want_weights, want_m, want_v, want_samples = uninterrupted
    assert losses == want_losses
    assert t2.engine.weights() == want_weights
    assert (t2.engine.m, t2.engine.v) == (want_m, want_v)
    assert t2.sample(5) == want_samples  # the random state came along too


@pytest.mark.parametrize('engine', ['original', 'efficient'])
def test_train_runs_steps_in_a_batch_with_the_collector_paused(uninterrupted, engine):
    """Trainer.train: the same steps as step() one by one, at most max_steps, at least one step when time is
    up, none once done; the cyclic garbage collector is off for the whole batch and back on after it."""
    t = Trainer(Config(**SMALL), R.WORDS['madeup'], engine=engine)
    collector_on = []
    engine_step = t.engine.train_step

    def spy(*args):
        collector_on.append(gc.isenabled())
        return engine_step(*args)
    t.engine.train_step = spy
    results = t.train(3)
    assert [r.step for r in results] == [1, 2, 3]
    assert [len(t.train(5, seconds=0)), len(t.train(100))] == [1, SMALL['num_steps'] - 4]
    assert t.train(1) == [] and t.done
    assert [r.loss for r in results] == uninterrupted[0][:3] and t.engine.weights() == uninterrupted[1]
    assert collector_on == [False] * SMALL['num_steps'] and gc.isenabled()
    gc.disable()
    try:
        Trainer(Config(**SMALL), R.WORDS['madeup'], engine=engine).train(2)
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()


def test_from_state_rejects_damaged_states():
    state = json.loads(json.dumps(to_json(small_trainer())))
    damaged = [
        ({**state, 'format': 'x'}, 'format'),
        ({**state, 'version': 99}, 'version'),
        ({**state, 'weights': {**state['weights'], 'wte': state['weights']['wte'][:-1]}}, 'wte'),
        ({**state, 'adam_m': state['adam_m'][:-1]}, 'Adam'),
        ({**state, 'step': 99}, 'step'),
        ({**state, 'config': {**state['config'], 'n_head': 3}}, 'n_embd'),
        ({**state, 'docs': ['zzz%%%']}, 'vocabulary'),
        ({k: v for k, v in state.items() if k != 'rng'}, 'rng'),
        ({**state, 'adam_v': ['x'] * len(state['adam_v'])}, 'number'),
        ([], 'format'),
    ]
    for bad, word in damaged:
        with pytest.raises(StateError, match=word):
            from_json(json.loads(json.dumps(bad)))


# -- sampling does not perturb training ------------------------------------------------------------------------
def test_sampling_mid_training_leaves_training_and_final_samples_unchanged():
    gold = R.golden('default')
    random.seed(12345)
    global_state = random.getstate()
    trainer = Trainer(R.case_config('default'), R.case_docs('default'))
    losses, mid_samples = [], []
    while not trainer.done:
        losses.append(trainer.step().loss)
        if trainer.step_count in (1, 10, 20):
            mid_samples.append(trainer.sample(3, rng=random.Random(trainer.step_count)))
            mid_samples.append(trainer.sample(2, temperature=0.9, rng=random.Random(7)))
    R.assert_losses_match(losses, gold['losses'], exact=R.same_platform(gold))
    assert trainer.sample(20) == gold['samples']  # the run's own generator was not touched either
    assert random.getstate() == global_state  # nor the global one
    assert all(len(s) in (2, 3) for s in mid_samples)
    # the same generator gives the same samples
    assert trainer.sample(4, rng=random.Random(3)) == trainer.sample(4, rng=random.Random(3))


# -- config validation -----------------------------------------------------------------------------------------
INVALID = [
    # (changes, field, words in the message)
    *[(dict([(name, bad)]), name, rule)
      for name in ('n_embd', 'n_head', 'n_layer', 'block_size', 'num_steps', 'seed')
      for bad, rule in [(2.0, 'whole number'), ('4', 'whole number'), (True, 'whole number'), (None, 'whole number')]],
    (dict(n_embd=0, n_head=1), 'n_embd', 'between 1 and 128'),
    (dict(n_embd=256, n_head=4), 'n_embd', 'between 1 and 128'),
    (dict(n_head=0), 'n_head', 'between 1 and 32'),
    (dict(n_head=64, n_embd=128), 'n_head', 'between 1 and 32'),
    (dict(n_layer=0), 'n_layer', 'between 1 and 8'),
    (dict(n_layer=9), 'n_layer', 'between 1 and 8'),
    (dict(block_size=0), 'block_size', 'between 1 and 128'),
    (dict(block_size=129), 'block_size', 'between 1 and 128'),
    (dict(num_steps=0), 'num_steps', 'between 1 and 1,000,000'),
    (dict(num_steps=1_000_001), 'num_steps', 'between 1 and 1,000,000'),
    (dict(seed=-1), 'seed', 'between 0 and 4,294,967,295'),
    (dict(seed=2**32), 'seed', 'between 0 and 4,294,967,295'),
    (dict(n_embd=4, n_head=8), 'n_head', 'at most n_embd'),
    (dict(n_embd=16, n_head=3), 'n_embd', 'divisible by n_head'),
    (dict(n_embd=18, n_head=4), 'n_embd', 'divisible by n_head'),
    *[(dict([(name, bad)]), name, rule)
      for name in ('learning_rate', 'beta1', 'beta2', 'eps', 'temperature')
      for bad, rule in [('0.1', 'must be a number'), (None, 'must be a number'), (False, 'must be a number'),
                        (math.nan, 'finite'), (math.inf, 'finite'), (-math.inf, 'finite')]],
    (dict(learning_rate=0.0), 'learning_rate', 'in (0, 1]'),
    (dict(learning_rate=-0.01), 'learning_rate', 'in (0, 1]'),
    (dict(learning_rate=1.5), 'learning_rate', 'in (0, 1]'),
    (dict(beta1=1.0), 'beta1', 'in [0, 1)'),
    (dict(beta1=-0.1), 'beta1', 'in [0, 1)'),
    (dict(beta2=1.0), 'beta2', 'in [0, 1)'),
    (dict(beta2=1.2), 'beta2', 'in [0, 1)'),
    (dict(eps=0.0), 'eps', 'in (0, 1]'),
    (dict(temperature=0.0), 'temperature', 'in [0.01, 10]'),
    (dict(temperature=-1.0), 'temperature', 'in [0.01, 10]'),
    (dict(temperature=10.5), 'temperature', 'in [0.01, 10]'),
]


@pytest.mark.parametrize('changes,field,rule', INVALID, ids=[f'{f}-{c}' for c, f, _ in INVALID])
def test_invalid_config_names_the_field_and_the_rule(changes, field, rule):
    with pytest.raises(ConfigError) as info:
        Config(**changes).validate()
    err = info.value
    assert err.field == field
    assert rule in err.rule and str(err) == f'{field}: {err.rule}'
    # from_dict validates the same way
    with pytest.raises(ConfigError) as info2:
        Config.from_dict(changes)
    assert info2.value.field == field and str(info2.value) == str(err)


VALID = [
    dict(), dict(n_embd=1, n_head=1, n_layer=1, block_size=1, num_steps=1, seed=0),
    dict(n_embd=128, n_head=32, n_layer=1, block_size=7), dict(n_layer=8), dict(block_size=128),
    dict(num_steps=1_000_000),
    dict(seed=2**32 - 1), dict(learning_rate=1.0), dict(learning_rate=1), dict(beta1=0.0, beta2=0.0),
    dict(beta1=0.999999, beta2=0.999999), dict(eps=1.0), dict(temperature=10.0), dict(temperature=0.01),
    dict(n_embd=64, n_head=8, n_layer=4, block_size=8),
    # the largest sizes: what fits where, per engine, is microgpt/limits.py's (tests/test_limits.py)
    dict(n_embd=128, n_head=4, n_layer=8), dict(n_embd=64, n_head=4, n_layer=4, block_size=128),
    dict(n_embd=128, n_head=4, n_layer=8, block_size=128),
]


@pytest.mark.parametrize('changes', VALID)
def test_valid_configs_pass(changes):
    config = Config(**changes)
    assert config.validate() is config
    assert Config.from_dict(config.to_dict()) == config


def test_limits_are_what_the_tests_assume():
    assert config_module.LIMITS == {'n_embd': 128, 'n_head': 32, 'n_layer': 8, 'block_size': 128,
                                    'num_steps': 1_000_000}


def test_from_dict_unknown_keys_and_non_objects():
    with pytest.raises(ConfigError) as info:
        Config.from_dict({'n_embd': 16, 'learning_rat': 0.1})
    assert info.value.field == 'learning_rat' and 'is not a setting' in str(info.value)
    assert 'learning_rate' in str(info.value)  # lists the known settings
    for bad in ([], 'n_embd=16', None, 3):
        with pytest.raises(ConfigError) as info:
            Config.from_dict(bad)
        assert info.value.field == 'config' and 'object' in str(info.value)


def test_replace_validates():
    assert Config().replace(n_layer=2).n_layer == 2
    with pytest.raises(ConfigError) as info:
        Config().replace(temperature=0)
    assert info.value.field == 'temperature'


def test_trainer_validates_its_config():
    with pytest.raises(ConfigError):
        Trainer(Config(n_head=3), ['abc'])


# -- documents -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('raw', [
    b'anna\nbob\ncarl\n',
    b'anna\r\nbob\r\ncarl\r\n',  # CRLF
    b'anna\rbob\rcarl',  # lone CR
    b'anna\r\nbob\rcarl\n',  # mixed
    b'\xef\xbb\xbfanna\nbob\ncarl',  # UTF-8 BOM
    b'\xef\xbb\xbf  anna \r\n\r\n\t bob\t\n\n   \n carl  \n\n',  # BOM, blank lines, surrounding spaces
    '\ufeffanna\r\nbob\rcarl\n',  # str, BOM
    'anna\n\n \nbob\ncarl',
])
def test_documents_line_ends_bom_blank_lines_and_strip(raw):
    assert parse_documents(raw) == ['anna', 'bob', 'carl']


def test_documents_keep_inner_spaces_and_unicode():
    assert parse_documents('  new york \nzoë\n'.encode('utf-8')) == ['new york', 'zoë']


def test_read_documents_from_a_file(tmp_path):
    path = tmp_path / 'words.txt'
    path.write_bytes(b'\xef\xbb\xbfanna\r\nbob\r\n\r\n carl \r\n')
    assert read_documents(path) == ['anna', 'bob', 'carl']


@pytest.mark.parametrize('raw,words', [
    (b'anna\n\xff\xfebob\n', ['not UTF-8', 'position 5']),
    (b'', ['no documents']),
    (b'\n\n  \n\t\r\n', ['no documents']),
    ('   \n', ['no documents']),
    (b'\xef\xbb\xbf\n', ['no documents']),
    (''.join(chr(0x4e00 + i) + '\n' for i in range(501)).encode('utf-8'), ['501 distinct characters', 'limit is 500']),
])
def test_bad_documents_raise_dataset_error(raw, words):
    with pytest.raises(DatasetError) as info:
        parse_documents(raw, source='words.txt')
    message = str(info.value)
    assert message.startswith('words.txt')
    for w in words:
        assert w in message


def test_500_distinct_characters_are_allowed():
    docs = parse_documents(''.join(chr(0x4e00 + i) + '\n' for i in range(500)))
    assert len(docs) == 500


def test_too_large_file(tmp_path):
    assert data_module.MAX_BYTES == 10 * 1024 * 1024
    path = tmp_path / 'big.txt'
    path.write_bytes((b'abcdefghi\n' * (1024 * 1024)) + b'x\n')  # 10 MiB + 2 bytes
    with pytest.raises(DatasetError, match=r'MB; the limit is 10 MB'):
        read_documents(path)
    path.write_bytes(b'abcdefghi\n' * (1024 * 1024))  # exactly 10 MiB is fine
    assert len(read_documents(path)) == 1024 * 1024


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DatasetError, match='no such file'):
        read_documents(tmp_path / 'nope.txt')
    with pytest.raises(DatasetError, match='is a directory'):
        read_documents(tmp_path)
