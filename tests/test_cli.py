"""python -m microgpt: stdout byte for byte the reference's, the training log, save/load, errors.

The CLI runs as a subprocess (`sys.executable -m microgpt`, cwd and PYTHONPATH the repo). The reference runs on
the same machine, in a temporary folder, with only its hyperparameters changed (tests/reference.py), so the
comparison is exact. Where the reference is absent (no ../shared), the expected stdout and losses come from the
golden files tests/golden/*.json written by tests/golden/make_golden.py from the very same reference runs.
"""
import json

import pytest

import reference as R
from microgpt import Config, Trainer
from microgpt.state import to_json
from microgpt.trainer import LOG_HEADER


@pytest.fixture
def words_file(tmp_path):
    def write(name):
        path = tmp_path / f'{name}.txt'
        path.write_text(R.input_text(R.WORDS[name]), encoding='utf-8')
        return path
    return write


def finish_cli(proc):
    out, err = proc.communicate(timeout=300)
    out, err = out.decode('utf-8'), err.decode('utf-8')
    assert proc.returncode == 0, err
    return out


def step_lines(stdout):
    return [line for line in stdout.splitlines() if line.startswith('step ')]


def sample_lines(stdout):
    return stdout.split('\n--- inference (new, hallucinated names) ---\n', 1)[1]


# -- the same stdout as the reference --------------------------------------------------------------------------
# One case per engine, each from the session's one run of it (conftest.py golden_runs); the losses and samples of
# every case are compared with the reference in test_engine.py, from those same runs.
STDOUT_CASES = [('default', 'original'), ('three_layers', 'efficient'), ('wide', 'original')]


@pytest.mark.parametrize('name,engine', [pytest.param(name, engine, marks=pytest.mark.golden((name, engine), reference=[name]))
                                         for name, engine in STDOUT_CASES])
def test_stdout_equals_the_reference(name, engine, golden_runs):
    case = R.CASES[name]
    expected, losses, exact = R.expected_stdout_and_losses(name)
    out = golden_runs.get(name, engine).stdout
    R.assert_stdout_matches(out, expected, losses, exact)
    assert len(step_lines(out)) == case['config']['num_steps'] and out.count('\nsample ') == 20
    live, gold = R.reference_run(name), R.golden(name)
    if live is not None and R.same_platform(gold):
        # the golden file is what the reference gives today (else: run tests/golden/make_golden.py)
        assert (live[0], live[1]) == (gold['stdout'], gold['losses'])


def test_patched_reference_changes_only_hyperparameters():
    ref = R.reference_path()
    if ref is None:
        pytest.skip('the reference program is absent (../shared/reference/microgpt_reference.py beside the repo, '
                    'or MICROGPT_REFERENCE): there is nothing to patch')
    source = ref.read_text(encoding='utf-8')
    config = R.CASES['deeper']['config']
    patched = R.patch_reference(source, config, recursion_limit=5000)
    assert len(patched.splitlines()) == len(source.splitlines()) + 1  # the recursion limit line
    assert 'sys.setrecursionlimit(5000)' in patched
    patched_plain = R.patch_reference(source, config)
    changed = [(a, b) for a, b in zip(source.splitlines(), patched_plain.splitlines()) if a != b]
    assert len(changed) == 9  # 8 hyperparameter lines and the step print (which also writes repr(loss))
    for a, b in changed:
        if a.startswith('random.seed('):
            assert b.startswith(f'random.seed({config["seed"]})') and a.split('#')[1] == b.split('#')[1]
        elif 'print(' in a:
            assert b.startswith(a) and 'repr(loss.data)' in b
        else:
            assert a.split(' = ')[0] == b.split(' = ')[0] and a.split('#')[1:] == b.split('#')[1:]
    # the patched program is the one the cases run: its losses come out on stderr
    assert "'LOSS '" in patched_plain


@pytest.mark.golden(('default', 'original'), reference=['default'])
def test_default_flags_are_the_references_defaults(words_file, tmp_path, golden_runs):
    # only --steps given: every other hyperparameter must default to the reference's value; --log of both
    # (the other run: the session's run of the case with every flag given)
    path = words_file('common')
    a = R.start_cli('--input', path, '--steps', 30, '--log', tmp_path / 'a.csv')
    expected, losses, exact = R.expected_stdout_and_losses('default')
    b = golden_runs.get('default', 'original')
    for out in (finish_cli(a), b.stdout):
        R.assert_stdout_matches(out, expected, losses, exact)
    assert (tmp_path / 'a.csv').read_bytes() == b.log


# -- the training log --------------------------------------------------------------------------------------------
@pytest.mark.golden(('three_layers', 'original'), ('three_layers', 'efficient'), reference=['three_layers'])
def test_log_csv_has_every_step_at_full_precision(golden_runs):
    # two runs of the case (the session's runs, one per engine: the engines compute the same floats)
    case = R.CASES['three_layers']
    expected, losses, exact = R.expected_stdout_and_losses('three_layers')
    runs = [golden_runs.get('three_layers', engine) for engine in ('original', 'efficient')]
    for run in runs:
        R.assert_stdout_matches(run.stdout, expected, losses, exact)
    raw = runs[0].log
    assert raw == runs[1].log  # two runs, the same bytes
    assert LOG_HEADER == 'step,loss,learning_rate'
    assert b'\r' not in raw and raw.endswith(b'\n')
    lines = raw.decode('utf-8').split('\n')[:-1]
    assert lines[0] == 'step,loss,learning_rate'
    rows = [line.split(',') for line in lines[1:]]
    num_steps, lr = case['config']['num_steps'], case['config']['learning_rate']
    assert [int(r[0]) for r in rows] == list(range(1, num_steps + 1))
    logged = []
    for step, loss, rate in rows:
        assert loss == repr(float(loss)) and rate == repr(float(rate))  # written by repr
        assert float(rate) == lr * (1 - (int(step) - 1) / num_steps)  # the reference's lr_t of that step
        logged.append(float(loss))
    R.assert_losses_match(logged, losses, exact)  # the reference's losses at full precision


# -- save and load -----------------------------------------------------------------------------------------------
SAVE_CONFIG = dict(n_embd=8, n_head=2, n_layer=1, block_size=8, seed=5, temperature=0.6)


def api_run(docs, num_steps, stop_at=None):
    trainer = Trainer(Config(num_steps=num_steps, **SAVE_CONFIG), docs)
    while trainer.step_count < (num_steps if stop_at is None else stop_at):
        trainer.step()
    return trainer


def test_load_continues_a_saved_run_exactly(words_file, tmp_path):
    # a run stopped and saved at step 10 of 20 (--stop-at 10: the learning rate decays over 20), continued with
    # --load to 20, prints the
    # uninterrupted 20-step run's step lines 11-20 and samples, and saves the same final state
    docs = R.WORDS['common']
    half = tmp_path / 'half.json'
    flags = ['--input', words_file('common'), *R.cli_flags(dict(SAVE_CONFIG, num_steps=20))]
    first_half = R.run_cli(*flags, '--stop-at', 10, '--samples', 0, '--save', half)
    assert first_half.returncode == 0, first_half.stderr
    half_data = json.loads(half.read_text(encoding='utf-8'))
    assert len(half_data.pop('log')) == 10  # the log so far (state.py)
    assert half_data == json.loads(json.dumps(to_json(api_run(docs, 20, stop_at=10))))
    whole = R.start_cli(*flags, '--save', tmp_path / 'whole.json')
    continued = R.start_cli('--load', half, '--save', tmp_path / 'continued.json')
    whole_out, continued_out = finish_cli(whole), finish_cli(continued)
    assert continued_out.splitlines()[:3] == whole_out.splitlines()[:3]  # num docs, vocab size, num params
    assert step_lines(continued_out) == step_lines(whole_out)[10:]
    assert sample_lines(continued_out) == sample_lines(whole_out)
    saved = json.loads((tmp_path / 'whole.json').read_text(encoding='utf-8'))
    assert json.loads((tmp_path / 'continued.json').read_text(encoding='utf-8')) == saved
    assert [int(row.split(',')[0]) for row in saved.pop('log')] == list(range(1, 21))
    assert saved == json.loads(json.dumps(to_json(api_run(docs, 20))))
    assert saved['step'] == 20


def test_save_then_load_with_more_steps(words_file, tmp_path):
    # --steps 10 --save, then --load --steps 20: the second run trains steps 11-20 with the learning rate
    # decay re-planned over 20 steps (Trainer.keep_settings), samples from the saved random state
    docs = R.WORDS['common']
    flags = ['--input', words_file('common'), *R.cli_flags(dict(SAVE_CONFIG, num_steps=10))]
    first = R.run_cli(*flags, '--save', tmp_path / 's.json')
    assert first.returncode == 0, first.stderr
    second = R.run_cli('--load', tmp_path / 's.json', '--steps', 20, '--log', tmp_path / 'log.csv')
    assert second.returncode == 0, second.stderr
    trainer = Trainer(Config(num_steps=10, **SAVE_CONFIG), docs)
    first_results = [trainer.step() for _ in range(10)]
    assert step_lines(first.stdout) == [f'step {r.step:4d} / {10:4d} | loss {r.loss:.4f}' for r in first_results]
    trainer.keep_settings(num_steps=20)
    results = [trainer.step() for _ in range(10)]
    assert step_lines(second.stdout) == [f'step {r.step:4d} / {20:4d} | loss {r.loss:.4f}' for r in results]
    assert sample_lines(second.stdout) == ''.join(f'sample {i + 1:2d}: {s}\n' for i, s in enumerate(trainer.sample(20)))
    rows = (tmp_path / 'log.csv').read_text(encoding='utf-8').splitlines()
    assert rows[0] == 'step,loss,learning_rate'  # the whole run: the saved steps' rows first
    assert rows[1:] == [f'{r.step},{r.loss!r},{r.learning_rate!r}' for r in first_results + results]
    # the first run's own samples came from the same random state the second run continued from
    assert sample_lines(first.stdout) == ''.join(f'sample {i + 1:2d}: {s}\n'
                                                 for i, s in enumerate(api_run(docs, 10).sample(20)))


def test_load_may_change_the_temperature(words_file, tmp_path):
    flags = ['--input', words_file('common'), *R.cli_flags(dict(SAVE_CONFIG, num_steps=3))]
    assert R.run_cli(*flags, '--samples', 0, '--save', tmp_path / 's.json').returncode == 0
    out = R.run_cli('--load', tmp_path / 's.json', '--temperature', 0.9, '--samples', 3)
    assert out.returncode == 0, out.stderr
    assert step_lines(out.stdout) == []  # nothing left to train
    trainer = api_run(R.WORDS['common'], 3)
    assert sample_lines(out.stdout) == ''.join(f'sample {i + 1:2d}: {s}\n'
                                               for i, s in enumerate(trainer.sample(3, temperature=0.9)))


# -- other flags -------------------------------------------------------------------------------------------------
def test_samples_zero_prints_the_header_and_no_samples(words_file):
    out = R.run_cli('--input', words_file('mixed'), '--steps', 2, '--samples', 0)
    assert out.returncode == 0 and out.stderr == ''
    assert out.stdout.endswith('step    2 /    2 | loss ' + out.stdout.split('| loss ')[-1].split('\n')[0]
                               + '\n\n--- inference (new, hallucinated names) ---\n')
    assert 'sample' not in out.stdout


def test_help_exits_zero():
    out = R.run_cli('--help')
    assert out.returncode == 0 and out.stderr == ''
    assert out.stdout.startswith('usage: python -m microgpt')
    for flag in R.FLAGS:
        assert flag in out.stdout
    for flag in ('--input', '--samples', '--save', '--load', '--log'):
        assert flag in out.stdout


# -- errors: exit 2, one line on stderr --------------------------------------------------------------------------
ERRORS = {
    'missing file': (lambda p: ['--input', p / 'nope.txt'], 'no such file'),
    'directory': (lambda p: ['--input', p], 'is a directory'),
    'n_head does not divide n_embd': (lambda p: ['--input', p / 'ok.txt', '--n-head', 3], 'divisible by n_head'),
    'n_head above n_embd': (lambda p: ['--input', p / 'ok.txt', '--n-embd', 4, '--n-head', 8], 'at most n_embd'),
    'zero steps': (lambda p: ['--input', p / 'ok.txt', '--steps', 0], 'num_steps'),
    'beta1 of 1': (lambda p: ['--input', p / 'ok.txt', '--beta1', 1], 'beta1'),
    'nan learning rate': (lambda p: ['--input', p / 'ok.txt', '--learning-rate', 'nan'], 'finite'),
    'too large for the machine': (lambda p: ['--input', p / 'ok.txt', '--n-embd', 128, '--n-layer', 8, '--block-size',
                                             128], 'too large for the original engine on this machine'),
    'non-number steps': (lambda p: ['--input', p / 'ok.txt', '--steps', 'ten'], "invalid int value: 'ten'"),
    'non-number temperature': (lambda p: ['--input', p / 'ok.txt', '--temperature', 'hot'], 'invalid float value'),
    'unknown flag': (lambda p: ['--input', p / 'ok.txt', '--layers', 2], 'unrecognized arguments'),
    'negative samples': (lambda p: ['--input', p / 'ok.txt', '--samples', -1], '--samples'),
    'empty file': (lambda p: ['--input', p / 'empty.txt'], 'no documents'),
    'blank file': (lambda p: ['--input', p / 'blank.txt'], 'no documents'),
    'bad bytes': (lambda p: ['--input', p / 'bad.txt'], 'not UTF-8'),
    'load missing file': (lambda p: ['--load', p / 'nope.json'], 'cannot be read'),
    'load not JSON': (lambda p: ['--load', p / 'ok.txt'], 'not a JSON state'),
    'load JSON not a state': (lambda p: ['--load', p / 'other.json'], 'not a microgpt state'),
    'load damaged state': (lambda p: ['--load', p / 'damaged.json'], 'should be'),
    'n_embd with load': (lambda p: ['--load', p / 'state.json', '--n-embd', 32], '--n-embd cannot change'),
    'seed with load': (lambda p: ['--load', p / 'state.json', '--seed', 1], '--seed cannot change'),
    'stop-at past the steps': (lambda p: ['--input', p / 'ok.txt', '--steps', 5, '--stop-at', 6], '--stop-at'),
    'load fewer steps than trained': (lambda p: ['--load', p / 'state.json', '--steps', 1], 'num_steps'),
}


@pytest.fixture(scope='module')
def error_files(tmp_path_factory):
    p = tmp_path_factory.mktemp('errors')
    (p / 'ok.txt').write_text('anna\nbob\n', encoding='utf-8')
    (p / 'empty.txt').write_bytes(b'')
    (p / 'blank.txt').write_bytes(b' \n\r\n\t\n')
    (p / 'bad.txt').write_bytes(b'anna\n\xc3\x28bob\n')
    (p / 'other.json').write_text('{"n_embd": 16}', encoding='utf-8')
    trainer = Trainer(Config(n_embd=4, n_head=1, block_size=4, num_steps=3), ['anna', 'bob'])
    trainer.step()
    trainer.step()
    state = to_json(trainer)
    (p / 'state.json').write_text(json.dumps(state), encoding='utf-8')
    state['weights']['wte'] = state['weights']['wte'][:1]
    (p / 'damaged.json').write_text(json.dumps(state), encoding='utf-8')
    return p


@pytest.mark.parametrize('case', list(ERRORS))
def test_errors_exit_2_with_one_line(case, error_files):
    args, words = ERRORS[case]
    out = R.run_cli(*args(error_files))
    assert out.returncode == 2, out
    assert 'Traceback' not in out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and out.stderr.endswith('\n'), out.stderr
    assert lines[0].startswith('microgpt: ')
    assert words in lines[0]
    assert out.stdout == ''
