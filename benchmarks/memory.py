"""Peak memory of the largest models the config admits: prints figures (not a test).

    python benchmarks/memory.py [--all] [--over] [--no-pyodide] [--no-build]

For the largest admitted configuration of each shape (wide; deep with a long block; deep and wide; the longest
block) at the largest vocabulary (data.MAX_CHARS + 1 tokens), on a document longer than the block: the peak
WebAssembly heap of Pyodide in Node.js (the page's worker runs the same Pyodide; the heap only grows, so its
size after the work is the peak) and the native peak resident set size, each in a fresh process. Measured:
one training step on each engine; for one shape (every shape with --all), sampling a whole block with the
original engine, and Verify: the page's model on the original engine, after a step, plus a copy on each
engine from a JSON round trip of its state, each taking the page's steps, as web/worker/worker.py verify() does.
bytes/Value: the step's growth over the built model, per Value the step builds (limits.step_values).
--over also measures a step of the issue's configurations, which the cap now refuses.
The default run takes about 4 minutes on a 2-core machine.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(ROOT))
import microgpt as mg  # noqa: E402
import microgpt.limits  # noqa: E402,F401
import microgpt.state  # noqa: E402,F401
from microgpt.limits import MAX_HEAP, MAX_STEP_VALUES, MAX_VOCAB  # noqa: E402

MiB = 1024 * 1024
VERIFY_STEPS = 3  # web/page/main.py VERIFY_STEPS
# The original engine's largest admitted configuration of each shape in the page: one more block position is
# refused (at the largest vocabulary; by microgpt/limits.py's Value cap or graph depth).
LARGEST_ADMITTED = [
    {'n_embd': 104, 'n_head': 4, 'n_layer': 1, 'block_size': 11},  # wide
    {'n_embd': 16, 'n_head': 4, 'n_layer': 6, 'block_size': 18},  # deep, long block
    {'n_embd': 48, 'n_head': 4, 'n_layer': 2, 'block_size': 24},  # deep and wide
    {'n_embd': 16, 'n_head': 4, 'n_layer': 1, 'block_size': 128},  # the longest block
]
# The issue's configs, which took 2.5-2.9 GB of Pyodide heap for a step (at the names' vocabulary, 27)
REFUSED = [
    {'n_embd': 128, 'n_head': 4, 'n_layer': 1, 'block_size': 25},
    {'n_embd': 16, 'n_head': 4, 'n_layer': 8, 'block_size': 128},
    {'n_embd': 64, 'n_head': 4, 'n_layer': 6, 'block_size': 16},
]
VERIFY_SHAPE = 2  # where sampling and Verify are measured by default
# The efficient engine's largest models in the page (microgpt/limits.py): 8 layers of 128 with the longest block
# a step's time bound admits, at the largest vocabulary and at the names' (27); measured: a step, and the
# autosave's JSON of the state (web/worker/worker.py export_state), after a step.
EFFICIENT_LARGEST = [
    ({'n_embd': 128, 'n_head': 4, 'n_layer': 8, 'block_size': 94}, MAX_VOCAB),
    ({'n_embd': 128, 'n_head': 4, 'n_layer': 8, 'block_size': 97}, 27),
    ({'n_embd': 128, 'n_head': 4, 'n_layer': 8, 'block_size': 64}, 27),
]


# -- the measurement, in a fresh process (natively, or under Pyodide via tests/pyodide_node.mjs) ------------
def documents(vocab_size, block_size):
    """One document of vocab_size - 1 distinct characters, longer than the block: every step is a full block."""
    chars = [chr(0x100 + i) for i in range(vocab_size - 1)]
    return [''.join(chars[i % len(chars)] for i in range(max(block_size + 1, len(chars))))]


def heap_bytes():
    """Pyodide: the WebAssembly memory's size (it only grows, so after the work it is the peak).
    Natively: the peak resident set size."""
    if sys.platform == 'emscripten':
        import pyodide_js
        return pyodide_js._module.HEAPU8.length
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes


def verify(trainer, steps, mg):
    """web/worker/worker.py verify(): a copy of the model on each engine, from a JSON round trip of its state."""
    state = microgpt.state.to_json(trainer)
    runs = {}
    for engine in mg.ENGINE_NAMES:
        t = microgpt.state.from_json(json.loads(json.dumps(state)), engine=engine)
        losses = [t.step().loss for _ in range(steps)]
        runs[engine] = (losses, microgpt.state.to_json(t))
    return runs['original'][0] == runs['efficient'][0]


def child(spec):
    """Build the model, do the work, print what it measured as JSON."""
    settings, vocab_size, engine, work = spec['config'], spec['vocab'], spec['engine'], spec['work']
    if spec.get('unchecked'):  # measure past the cap (--over): turn its check off in this process
        mg.limits.check = lambda *args, **kwargs: None
    config = mg.Config(num_steps=1000, **settings)
    start = time.perf_counter()
    trainer = mg.Trainer(config, documents(vocab_size, config.block_size), engine=engine)
    assert trainer.vocab_size == vocab_size
    built = heap_bytes()
    if work == 'step':
        trainer.step()
    elif work == 'sample':  # Trainer.sample, drawing tokens until the block is full (never BOS)
        keys, values = trainer.engine.new_cache()
        token_id = trainer.tokenizer.BOS
        for pos_id in range(config.block_size):
            probs = trainer.engine.next_token_probs(token_id, pos_id, keys, values, config.temperature)
            token_id = max(range(vocab_size - 1), key=probs.__getitem__)
    elif work == 'verify':  # the page's model has trained (its heap has grown to a step's), then Verify
        trainer.step()
        assert verify(trainer, spec.get('steps', 1), mg)
    elif work == 'save':  # a step, then the state as the autosave takes it (JSON text with the log)
        trainer.step()
        text = mg.state.dumps(trainer, log=['1,1.0,0.01'])
        assert len(text) > 0
    print(json.dumps({'built': built, 'peak': heap_bytes(), 'seconds': time.perf_counter() - start,
                      'values': mg.limits.step_values(config, vocab_size)}))


# -- the driver ---------------------------------------------------------------------------------------------
def measure(spec, pyodide):
    arg = json.dumps(spec)
    if pyodide:
        cmd = ['node', str(ROOT / 'tests' / 'pyodide_node.mjs'), str(ROOT / 'dist'), str(ROOT / 'benchmarks'),
               'memory.py', '--child', arg]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), '--child', arg]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(ROOT)})
    if proc.returncode:
        return {'error': (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rows(all_works, over):
    """(config, engine, work, vocabulary, past the cap): every shape's step on each engine; sampling and Verify
    on the shape with the most parameters (on every shape with --all); with --over, the issue's configs."""
    out = []
    for i, settings in enumerate(LARGEST_ADMITTED):
        out += [(settings, 'original', 'step', MAX_VOCAB, False), (settings, 'efficient', 'step', MAX_VOCAB, False)]
        if all_works or i == VERIFY_SHAPE:
            out += [(settings, 'original', 'sample', MAX_VOCAB, False),
                    (settings, 'original', 'verify', MAX_VOCAB, False)]
    for settings, vocab in EFFICIENT_LARGEST:
        out += [(settings, 'efficient', 'step', vocab, False)]
    out += [(EFFICIENT_LARGEST[0][0], 'efficient', 'save', MAX_VOCAB, False)]
    if over:
        out += [(settings, 'original', 'step', 27, True) for settings in REFUSED]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('--all', action='store_true', help='sampling and Verify on every shape (about 15 minutes)')
    parser.add_argument('--over', action='store_true',
                        help="also the issue's configs, now refused, past the cap (up to 3 GB; about 4 minutes)")
    parser.add_argument('--no-pyodide', action='store_true', help='native figures only')
    parser.add_argument('--no-build', action='store_true', help='use dist/ as it is')
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    if not args.no_pyodide and not args.no_build:
        import build
        build.build()
    print(f'Python {sys.version.split()[0]} natively, Pyodide in Node.js {node_version()}; vocabulary {MAX_VOCAB}; '
          f'one document longer than the block; Verify: {VERIFY_STEPS} steps on each engine, as the page')
    print(f"{'config (n_embd/n_head/n_layer/block)':<38} {'Values':>10} {'engine':<10} {'work':<7}"
          f" {'Pyodide heap':>13} {'bytes/Value':>12} {'native peak':>12} {'bytes/Value':>12}")
    for settings, engine, work, vocab, unchecked in rows(args.all, args.over):
        label = '/'.join(str(settings[k]) for k in ('n_embd', 'n_head', 'n_layer', 'block_size'))
        if vocab != MAX_VOCAB:
            label += f', vocab {vocab}'
        if unchecked:
            label += ' (refused)'
        spec = {'config': settings, 'vocab': vocab, 'engine': engine, 'work': work, 'steps': VERIFY_STEPS,
                'unchecked': unchecked}
        results = [measure(spec, pyodide=False)] + ([] if args.no_pyodide else [measure(spec, pyodide=True)])
        cells = []
        for r in results:
            if 'error' in r:
                print('  error:', r['error'])
                cells += ['error', '']
                continue
            per_value = (r['peak'] - r['built']) / r['values'] if engine == 'original' and work == 'step' else None
            cells += [f"{r['peak'] / MiB:.0f} MiB", f'{per_value:.0f}' if per_value else '']
        if args.no_pyodide:
            cells = ['-', ''] + cells
        else:
            cells = cells[2:] + cells[:2]  # Pyodide first
        values = mg.limits.step_values(mg.Config(**settings), vocab)
        if engine == 'efficient':  # the estimate the page's limit uses, beside the measurements
            cells[1] = f"est. {mg.limits.efficient_bytes(mg.Config(**settings), vocab) / MiB:.0f}"
        print(f'{label:<38} {values:>10,} {engine:<10} {work:<7} {cells[0]:>13} {cells[1]:>12} {cells[2]:>12}'
              f' {cells[3]:>12}', flush=True)
    print(f'in the page: the original engine at most MAX_STEP_VALUES = {MAX_STEP_VALUES:,} Values a step '
          f'(microgpt/limits.py step_values, at the dataset\'s vocabulary; here MAX_VOCAB = {MAX_VOCAB}); the '
          f'efficient engine at most MAX_HEAP = {MAX_HEAP / MiB:.0f} MiB by limits.efficient_bytes (est.) and '
          f'a step\'s time bound')


def node_version():
    try:
        return subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()
    except OSError:
        return '(node not found)'


if __name__ == '__main__':
    sys.exit(main())
