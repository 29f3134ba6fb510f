"""The engines' bit-for-bit cases, without pytest: tests/test_efficient.py runs them natively, and
tests/pyodide_engines.py runs them under Pyodide (CPython 3.14, the page's interpreter)."""
import json
import math
import random
import struct

from microgpt import Config, Trainer, format_log_row
from microgpt.model import gpt, softmax
from microgpt.state import from_json, to_json

WORDS = ['amelia', 'bartholomew', 'cy', 'dorothea', 'eli', 'fitzgerald', 'gwendolyn', 'hal', 'ines', 'jo',
         'konstantinos', 'lu', 'maximiliana', 'ned', 'ottoline', 'pia', 'quentin', 'rosalind', 'sy', 'tobias',
         'ursula', 'vi', 'wilhelmina', 'xu', 'yolanda', 'zed']
TINY = ['ab', 'ba', 'aab', 'abba', 'b', 'aaaaaaaaaaaaaaaaaaaaab']  # two letters, one document over any block size

CONFIGS = {
    'default': (Config(num_steps=12), WORDS),
    'two layers': (Config(n_layer=2, num_steps=10, seed=3), WORDS),
    'two heads, block 8': (Config(n_head=2, block_size=8, num_steps=12, temperature=0.9), WORDS),
    'one head, n_embd 8, other seed': (Config(n_embd=8, n_head=1, num_steps=15, seed=2024), WORDS),
    'tiny vocab, long document': (Config(n_embd=12, n_head=3, block_size=6, num_steps=15, seed=9), TINY),
    'eight heads, three layers': (Config(n_embd=16, n_head=8, n_layer=3, block_size=10, num_steps=6,
                                         learning_rate=0.05, beta1=0.5, beta2=0.9), WORDS),
}

NON_FINITE_CASES = ['fc1 weight nan', 'nan behind a dead unit', 'overflow behind a dead unit', 'lm_head target row nan']


def run_difference(a, b):
    """The first part of two runs' states that differs, or None."""
    sa, sb = to_json(a), to_json(b)
    for key in ('step', 'weights', 'adam_m', 'adam_v', 'rng', 'docs', 'uchars', 'config'):
        if sa[key] != sb[key]:
            return key
    return None


def engines_difference(name):
    """Train both engines on a config step for step: None if every step's result, every weight and Adam
    moment after every step and the samples are identical, else what differed first."""
    config, docs = CONFIGS[name]
    original, efficient = Trainer(config, docs, 'original'), Trainer(config, docs, 'efficient')
    if run_difference(original, efficient):
        return 'initialisation: ' + run_difference(original, efficient)
    while not original.done:
        a, b = original.step(), efficient.step()
        if a != b:
            return f'step {a.step}: {a} != {b}'
        if run_difference(original, efficient):
            return f'after step {a.step}: ' + run_difference(original, efficient)
    if original.sample(10) != efficient.sample(10):
        return 'samples'
    if original.sample(5, 1.3, random.Random(1)) != efficient.sample(5, 1.3, random.Random(1)):
        return 'samples at temperature 1.3'
    return None


def original_grads(trainer, tokens):
    """The gist's loss and Value gradients for one document, without an update."""
    engine, cfg = trainer.engine, trainer.config
    n = min(cfg.block_size, len(tokens) - 1)
    keys, values = engine.new_cache()
    losses = []
    for pos_id in range(n):
        logits = gpt(tokens[pos_id], pos_id, keys, values, engine.state_dict, cfg.n_layer, cfg.n_head)
        losses.append(-softmax(logits)[tokens[pos_id + 1]].log())
    loss = (1 / n) * sum(losses)
    loss.backward()
    grads = {name: [[p.grad for p in row] for row in mat] for name, mat in engine.state_dict.items()}
    for p in engine.params:
        p.grad = 0
    return loss.data, grads


def bits(x):
    """A float's bits, but every nan alike (IEEE leaves a nan's sign and payload to the hardware)."""
    return 'nan' if math.isnan(x) else struct.pack('<d', x)


def bits_of(nested):
    """bits() of every float in nested lists."""
    if isinstance(nested, float):
        return bits(nested)
    return [bits_of(x) for x in nested]


def non_finite_grads(case):
    """Where ReLU's zeros meet inf or nan (0.0 * inf is nan), no term may be skipped. A dead unit: its fc1
    row is zeros, so it is inactive at every position. Returns both engines' (loss, gradients) for one
    document, every float as bits()."""
    config, docs = Config(n_embd=8, n_head=2, n_layer=2, block_size=8, num_steps=5), WORDS
    state = to_json(Trainer(config, docs, 'original'))
    weights = json.loads(json.dumps(state['weights']))  # a copy: a state with a nan is refused (issue 18)
    if case == 'fc1 weight nan':
        weights['layer0.mlp_fc1'][5][2] = math.nan
    elif case == 'nan behind a dead unit':
        weights['layer0.mlp_fc1'][7] = [0.0] * 8
        for row in weights['layer0.mlp_fc2']:
            row[7] = math.nan  # nan * 0.0 is nan: the forward pass is nan
    elif case == 'lm_head target row nan':  # the efficient engine gives the target a 0.0 in its first sum
        weights['lm_head'][state['uchars'].index('a')] = [math.nan] * 8
    else:
        weights['layer1.mlp_fc1'][7] = [0.0] * 8
        for row in weights['layer1.mlp_fc2']:
            row[7] = 1e307  # finite, its largest |weight| finite, but its input gradient overflows: 0.0 * inf is nan
        weights['lm_head'] = [[w * 1000 for w in row] for row in weights['lm_head']]
    original, efficient = from_json(state, 'original'), from_json(state, 'efficient')
    for trainer in (original, efficient):  # the engines given the weights directly
        trainer.engine = type(trainer.engine)(config, weights)
    tokens = original.tokenizer.encode('bartholomew')
    loss, grads = original_grads(original, tokens)
    e_loss, e_grads = efficient.engine.loss_and_grads(tokens)

    def as_bits(loss, grads):
        return bits(float(loss)), {key: [[bits(float(g)) for g in row] for row in mat] for key, mat in grads.items()}
    return as_bits(loss, grads), as_bits(e_loss, e_grads)


# -- the forward-only passes: loss() and attention_maps() -----------------------------------------------------
FORWARD_ONLY_CASES = ['two heads, block 8', 'tiny vocab, long document', 'eight heads, three layers']
FORWARD_ONLY_STEPS = 4


def log_bytes(results):
    """The training log (format_log_row) of some steps, as bytes."""
    return ''.join(format_log_row(r) + '\n' for r in results).encode()


def forward_only_difference(name):
    """Both engines, FORWARD_ONLY_STEPS steps on a config, with loss() and attention_maps() on two of the
    trained documents before each step: None if they give the same bits at every step and leave the runs
    exactly as a run without those calls (the same log bytes, weights, Adam state, random generator,
    samples), else what differed first."""
    config, docs = CONFIGS[name]
    quiet = Trainer(config, docs, 'original')  # no forward-only calls
    runs = {engine: Trainer(config, docs, engine) for engine in ('original', 'efficient')}
    probes = quiet.docs[1:3]
    logs = {engine: [] for engine in ['quiet', *runs]}
    while quiet.step_count < FORWARD_ONLY_STEPS:
        seen = {}
        for engine, trainer in runs.items():
            seen[engine] = [(bits(trainer.loss(doc)), bits_of(trainer.attention_maps(doc))) for doc in probes]
            logs[engine].append(trainer.step())
        if seen['original'] != seen['efficient']:
            return f'loss or attention maps before step {quiet.step_count + 1}'
        logs['quiet'].append(quiet.step())
    for engine, trainer in runs.items():
        if log_bytes(logs[engine]) != log_bytes(logs['quiet']):
            return f'{engine}: the log changed'
        if run_difference(trainer, quiet):
            return f'{engine}: the state changed: ' + run_difference(trainer, quiet)
    if not runs['original'].sample(5) == runs['efficient'].sample(5) == quiet.sample(5):
        return 'samples'
    return None


def written_out_difference():
    """The written-out sums at the longest lengths the engine writes (written_out.longest_written_out_sum())
    and at the cap (LONGEST_WRITTEN_OUT): None if they compile here and add like dot(), else the length."""
    from microgpt import written_out as E
    from microgpt.pieces import flatten
    rng = random.Random(0)
    for k in sorted({E.longest_written_out_sum(), E.LONGEST_WRITTEN_OUT}):
        x = [rng.uniform(-1, 1) * 10.0 ** rng.randint(-8, 8) for _ in range(k)]
        rows = [[rng.uniform(-1, 1) for _ in range(k)] for _ in range(2)]
        if bits_of(E._written_out_matvec(k)(flatten(rows), x)) != bits_of([E.dot(row, x) for row in rows]):
            return f'matvec {k}'
        gs, xs = [[v] for v in x], [[v] for v in rows[0]]
        if bits_of(E._written_out_weight_grad(k)(gs, xs)) != bits_of([E.dot(x, rows[0])]):
            return f'weight_grad {k}'
    return None
