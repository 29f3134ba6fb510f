"""Shared test helpers: word lists, the configs compared with the reference, and running the reference.

The reference is Karpathy's microgpt program (../shared/reference/microgpt_reference.py beside the repo, or the
file named by MICROGPT_REFERENCE). It is never copied into the repo: the tests read it, change only its
hyperparameter lines (and add one line printing each step's full-precision loss to stderr, and, for the deep
config, a raised recursion limit), and run it in a temporary folder next to an `input.txt`.

Where the reference is absent (a user's machine without ../shared), the tests compare against the golden
files in tests/golden/, which tests/golden/make_golden.py made by running the reference the same way.
"""
import functools
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_DIR = Path(__file__).resolve().parent / 'golden'

# -- word lists (written for these tests; none is a copy of names.txt) ---------------------------------------
# Each has words longer than the block size it is trained with, so truncation to block_size is exercised.
WORDS = {
    'common': (
        'apple river stone cloud garden window silver candle forest harbor '
        'pepper mirror lantern basket meadow thunder pillow orange marble ladder '
        'copper violin saddle island feather bottle rocket tunnel jacket wizard '
        'internationalization misunderstandings telecommunications uncharacteristically '
        'counterproductively compartmentalizing electroencephalogram incomprehensibility '
        'sun map fox ink owl bee '
        'breakfast chocolate umbrella dinosaur elephant kangaroo hurricane volcano'
    ).split(),
    'madeup': (
        'zorbal quintex mavoria plimsk drundle fennakor vask oomph yiltra brastovinakel '
        'quorvendish tazzle nimbrofex glarp sevvitonu krell aubranthemum dwizzle pomfret '
        'ixtaleron wubb hemmerskov ulvagantrio crisp trollopeia zenn mabrux oddlefrumpish '
        'fyz gorbanatle snerk velloquin ambrodex pintervaloo jusk clemmoravitch yorr '
        'spindlewhackerton brovv kaxi lurmandelo thwip efferquaz nobbolinder razz '
        'wendigrastle ptomy schnorvel iddaquinto'
    ).split(),
    'mixed': (
        "ab-cd o'neil x-ray well-being mother-in-law rock'n'roll t-shirt jack-o'-lantern "
        'kettle hedgehog bramble quokka tundra sprocket ember gazebo minnow cobalt '
        'walrus zephyr lichen pylon fjord mango nectar oxbow quill rhubarb '
        'saffron tamarind yodel zucchini abacus bolero cuttlefish dromedary '
        'extraordinarily flabbergasted gobbledygook hullabaloo'
    ).split(),
}

# -- configs compared with the reference -----------------------------------------------------------------------
# name -> settings (Config field names), the word list, and whether the reference needs a raised recursion limit.
DEFAULTS = dict(seed=42, n_embd=16, n_head=4, n_layer=1, block_size=16, learning_rate=0.01, beta1=0.85,
                beta2=0.99, temperature=0.5)
CASES = {
    # the reference's own settings, only fewer steps
    'default': dict(words='common', config=dict(DEFAULTS, num_steps=30)),
    # more layers, a wider model with more heads, a short block, other seed/temperature/Adam settings
    'deeper': dict(words='madeup', config=dict(seed=7, n_embd=24, n_head=6, n_layer=2, block_size=8,
                                               learning_rate=0.02, beta1=0.9, beta2=0.95, temperature=1.0,
                                               num_steps=25)),
    # three layers, two heads, another block size, a cold temperature
    'three_layers': dict(words='mixed', config=dict(seed=2024, n_embd=12, n_head=2, n_layer=3, block_size=12,
                                                    learning_rate=0.005, beta1=0.8, beta2=0.999,
                                                    temperature=0.3, num_steps=30)),
    # n_layer=4, n_embd=64: the reference's recursive backward dies with RecursionError here unless its
    # recursion limit is raised; block_size 2 keeps the 20 samples of the run quick
    'big': dict(words='common', recursion_limit=100_000,
                config=dict(seed=3, n_embd=64, n_head=8, n_layer=4, block_size=2, learning_rate=0.002,
                            beta1=0.85, beta2=0.99, temperature=1.0, num_steps=2)),
    # the n_embd 64 / 4 layers at the reference's block size 16, which the browser's limit on the
    # original engine once refused natively too (limits.py: natively only the machine's memory holds a model)
    'wide': dict(words='common', recursion_limit=100_000,
                 config=dict(seed=4, n_embd=64, n_head=4, n_layer=4, block_size=16, learning_rate=0.01,
                             beta1=0.85, beta2=0.99, temperature=0.5, num_steps=2)),
}

# reference line -> its hyperparameter(s) (Config field names), each replaced with the case's value
REFERENCE_LINES = [
    (r'random\.seed\(42\)', lambda c: f'random.seed({c["seed"]!r})'),
    (r'n_embd = 16', lambda c: f'n_embd = {c["n_embd"]!r}'),
    (r'n_head = 4', lambda c: f'n_head = {c["n_head"]!r}'),
    (r'n_layer = 1', lambda c: f'n_layer = {c["n_layer"]!r}'),
    (r'block_size = 16', lambda c: f'block_size = {c["block_size"]!r}'),
    (r'num_steps = 1000', lambda c: f'num_steps = {c["num_steps"]!r}'),
    (r'temperature = 0\.5', lambda c: f'temperature = {c["temperature"]!r}'),
    (r'learning_rate, beta1, beta2, eps_adam = 0\.01, 0\.85, 0\.99, 1e-8',
     lambda c: f'learning_rate, beta1, beta2, eps_adam = {c["learning_rate"]!r}, {c["beta1"]!r}, '
               f'{c["beta2"]!r}, 1e-8'),
]
STEP_PRINT = 'print(f"step {step+1:4d} / {num_steps:4d} | loss {loss.data:.4f}")'
LOSS_MARK = 'LOSS '
# CLI flag -> Config field
FLAGS = {'--steps': 'num_steps', '--seed': 'seed', '--n-embd': 'n_embd', '--n-head': 'n_head',
         '--n-layer': 'n_layer', '--block-size': 'block_size', '--learning-rate': 'learning_rate',
         '--beta1': 'beta1', '--beta2': 'beta2', '--temperature': 'temperature'}


def case_config(name):
    """The microgpt Config of a case."""
    from microgpt import Config
    return Config(**CASES[name]['config'])


def case_docs(name):
    return list(WORDS[CASES[name]['words']])


def input_text(words):
    return '\n'.join(words) + '\n'


# -- the reference -------------------------------------------------------------------------------------------
def reference_path():
    """The reference program, or None where it is absent."""
    path = Path(os.environ.get('MICROGPT_REFERENCE') or ROOT.parent / 'shared' / 'reference' / 'microgpt_reference.py')
    return path if path.is_file() else None


def patch_reference(source, config, recursion_limit=None):
    """The reference with its hyperparameters set from `config` (a dict of Config fields), each step's loss
    also written to stderr by repr, and optionally a raised recursion limit. Nothing else changes."""
    for pattern, line in REFERENCE_LINES:
        source, count = re.subn(r'^' + pattern + r'(?=\s|$)', line(config).replace('\\', r'\\'), source, flags=re.M)
        assert count == 1, f'the reference has no single line {pattern!r}: has it changed?'
    assert source.count(STEP_PRINT) == 1, 'the reference step print has changed'
    source = source.replace(STEP_PRINT, STEP_PRINT + f"; __import__('sys').stderr.write({LOSS_MARK!r} + repr(loss.data) + '\\n')")
    if recursion_limit:
        source, count = re.subn(r'^(import random\b.*)$', rf'\1\nimport sys; sys.setrecursionlimit({recursion_limit})',
                                source, count=1, flags=re.M)
        assert count == 1
    return source


def start_reference(config, words, folder, recursion_limit=None, source=None):
    """Start the patched reference in `folder` (with an input.txt of `words`); returns the Popen."""
    folder = Path(folder)
    source = source if source is not None else reference_path().read_text(encoding='utf-8')
    (folder / 'reference_patched.py').write_text(patch_reference(source, config, recursion_limit), encoding='utf-8')
    (folder / 'input.txt').write_text(input_text(words), encoding='utf-8')
    env = dict(os.environ, PYTHONIOENCODING='utf-8', PYTHONUTF8='1')
    # The cyclic garbage collector is switched off around the run: it cannot change a number the program
    # computes (its graphs have no reference cycles), but it walks the millions of Values the reference keeps
    # alive, which made the 'big' case's sampling take a minute instead of seconds.
    runner = "import gc, runpy; gc.disable(); runpy.run_path('reference_patched.py', run_name='__main__')"
    return subprocess.Popen([sys.executable, '-c', runner], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish_reference(proc):
    """(stdout text, [full-precision losses]) of a started reference; fails with its stderr if it failed."""
    out, err = proc.communicate()
    out, err = out.decode('utf-8'), err.decode('utf-8')
    assert proc.returncode == 0, f'the reference failed:\n{err[-3000:]}'
    losses = [float(line[len(LOSS_MARK):]) for line in err.splitlines() if line.startswith(LOSS_MARK)]
    return out, losses


_reference_runs = {}  # case -> (stdout, losses)
_reference_started = {}  # case -> (Popen, its TemporaryDirectory)


def start_reference_run(name):
    """Start the reference on a case in the background, once per test session (reference_run collects it);
    nothing without the reference."""
    if reference_path() is None or name in _reference_runs or name in _reference_started:
        return
    case = CASES[name]
    tmp = tempfile.TemporaryDirectory()
    _reference_started[name] = (start_reference(case['config'], WORDS[case['words']], tmp.name,
                                                case.get('recursion_limit')), tmp)


def reference_run(name):
    """The reference's (stdout, losses) for a case, run once per test session; None without the reference."""
    if reference_path() is None:
        return None
    if name not in _reference_runs:
        start_reference_run(name)
        proc, tmp = _reference_started.pop(name)
        with tmp:
            _reference_runs[name] = finish_reference(proc)
    return _reference_runs[name]


def stop_reference_runs():
    """Stop the reference runs started and never collected."""
    while _reference_started:
        proc, tmp = _reference_started.popitem()[1]
        proc.kill()
        proc.communicate()
        tmp.cleanup()


# -- the CLI -------------------------------------------------------------------------------------------------
def cli_flags(config):
    """The `python -m microgpt` flags giving a Config of these settings."""
    fields = {v: k for k, v in FLAGS.items()}
    return [x for key, value in config.items() if key in fields for x in (fields[key], repr(value))]


def cli_command(*args):
    return [sys.executable, '-m', 'microgpt', *map(str, args)]


def cli_env():
    env = dict(os.environ, PYTHONIOENCODING='utf-8')
    env['PYTHONPATH'] = str(ROOT) + (os.pathsep + env['PYTHONPATH'] if env.get('PYTHONPATH') else '')
    return env


def start_cli(*args):
    return subprocess.Popen(cli_command(*args), cwd=ROOT, env=cli_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def run_cli(*args, timeout=300):
    """Run `python -m microgpt ARGS` from the repo; returns CompletedProcess with text stdout/stderr."""
    return subprocess.run(cli_command(*args), cwd=ROOT, env=cli_env(), capture_output=True, timeout=timeout,
                          encoding='utf-8')


# -- golden files --------------------------------------------------------------------------------------------
def platform_signature():
    """Where last-bit results of math.exp/log, ** and random.gauss can be expected to repeat exactly."""
    return {'sys.platform': sys.platform, 'libc': list(platform.libc_ver()), 'machine': platform.machine(),
            'implementation': platform.python_implementation()}


@functools.lru_cache(maxsize=None)
def golden(name):
    return json.loads((GOLDEN_DIR / f'{name}.json').read_text(encoding='utf-8'))


def same_platform(gold):
    return gold['platform'] == platform_signature()


def assert_losses_match(got, expected, exact):
    """Every loss equal (exact) or within 1e-9 relative (another C library made `expected`)."""
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected), 1):
        if exact:
            assert a == b, f'step {i}: {a!r} != {b!r}'
        else:
            assert math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0), f'step {i}: {a!r} vs {b!r}'


def expected_stdout_and_losses(name):
    """What the reference prints for a case and its full-precision losses, and whether they come from a run on
    this very machine: the live reference when present, else the golden file (exact only on its platform)."""
    live = reference_run(name)
    if live is not None:
        return live[0], live[1], True
    gold = golden(name)
    return gold['stdout'], gold['losses'], same_platform(gold)


def assert_stdout_matches(got, expected, losses, exact):
    """Byte for byte when `expected` was made on this machine; elsewhere every line equal except that a step's
    4-decimal loss may be the other rounding of the full-precision loss within 1e-9 relative."""
    if exact:
        assert got == expected
        return
    got_lines, exp_lines = got.split('\n'), expected.split('\n')
    assert len(got_lines) == len(exp_lines)
    for g, e in zip(got_lines, exp_lines):
        m = re.fullmatch(r'step +(\d+) / +\d+ \| loss (\S+)', e)
        if m and g != e:
            loss = losses[int(m.group(1)) - 1]
            assert g.rsplit(' ', 1)[0] == e.rsplit(' ', 1)[0]
            assert g.rsplit(' ', 1)[1] in {f'{loss * (1 - 1e-9):.4f}', f'{loss * (1 + 1e-9):.4f}'}, (g, e)
        else:
            assert g == e
