"""The saved-state format (microgpt/state.py): version 1 files written before the format moved still load and
continue exactly; round trips through dicts, text and files; clear StateErrors for what cannot load.

tests/golden/state_v1.json was written by the CLI as it was before state.py existed (commit deed311):

    python -m microgpt --input words.txt --steps 30 --stop-at 10 --n-embd 2 --n-head 1 --block-size 8 \
        --samples 0 --save tests/golden/state_v1.json

with words.txt the ten lines of V1_WORDS below.
"""
import json
import shutil

import pytest

import reference as R
from microgpt import Config, StateError, Trainer, format_log_row, state
from microgpt.trainer import LOG_HEADER

from engine_cases import run_difference

GOLDEN_V1 = R.GOLDEN_DIR / 'state_v1.json'
V1_WORDS = ['amber', 'nora', 'lemon', 'baron', 'mola', 'robe', 'el', 'annabel', 'marlon', 'ober']
V1_CONFIG = Config(n_embd=2, n_head=1, block_size=8, num_steps=30)


def uninterrupted_v1(engine='original'):
    trainer = Trainer(V1_CONFIG, V1_WORDS, engine)
    return trainer, [trainer.step() for _ in range(V1_CONFIG.num_steps)]


def log_text(results):
    return LOG_HEADER + '\n' + ''.join(format_log_row(r) + '\n' for r in results)


@pytest.mark.parametrize('engine', ['original', 'efficient'])
def test_a_version_1_file_from_before_the_move_continues_exactly(engine):
    data = json.loads(GOLDEN_V1.read_text(encoding='utf-8'))
    assert (data['version'], data['step'], data['config']) == (1, 10, state.to_json(Trainer(V1_CONFIG, V1_WORDS))['config'])
    assert 'validation' not in data['config']  # the file predates the setting: it loads with its default
    whole, results = uninterrupted_v1()
    loaded = state.load(GOLDEN_V1, engine=engine)
    assert loaded.engine_name == engine and loaded.step_count == 10
    continued = [loaded.step() for _ in range(20)]
    assert log_text(continued).encode() == log_text(results[10:]).encode()
    assert run_difference(loaded, whole) is None
    assert loaded.sample(5) == whole.sample(5)


def test_the_cli_continues_a_version_1_file(tmp_path):
    words = tmp_path / 'words.txt'
    words.write_text('\n'.join(V1_WORDS) + '\n', encoding='utf-8')
    saved = tmp_path / 'v1.json'
    shutil.copy(GOLDEN_V1, saved)
    flags = ['--n-embd', 2, '--n-head', 1, '--block-size', 8, '--steps', 30]
    whole = R.run_cli('--input', words, *flags, '--samples', 3, '--log', tmp_path / 'whole.csv')
    continued = R.run_cli('--load', saved, '--samples', 3, '--log', tmp_path / 'continued.csv')
    assert whole.returncode == 0 and continued.returncode == 0, continued.stderr
    whole_lines, continued_lines = whole.stdout.splitlines(), continued.stdout.splitlines()
    assert continued_lines[:3] == whole_lines[:3]  # num docs, vocab size, num params
    assert continued_lines[3:] == whole_lines[13:]  # steps 11 to 30, then the same samples
    whole_rows = (tmp_path / 'whole.csv').read_bytes().split(b'\n')
    assert (tmp_path / 'continued.csv').read_bytes().split(b'\n') == whole_rows[:1] + whole_rows[11:]


@pytest.mark.parametrize('engine', ['original', 'efficient'])
def test_round_trips(engine, tmp_path):
    t = Trainer(V1_CONFIG, V1_WORDS, engine)
    t.train(4)
    data = state.to_json(t)
    assert data['format'] == state.FORMAT and data['version'] == state.VERSION == 1
    assert json.loads(state.dumps(t)) == data
    before = json.dumps(data)
    for copy in (state.from_json(data), state.from_json(json.loads(json.dumps(data))), state.loads(state.dumps(t))):
        assert copy.engine_name == engine and run_difference(copy, t) is None
    assert json.dumps(data) == before  # from_json leaves its input alone
    state.save(t, tmp_path / 's.json')
    assert json.loads((tmp_path / 's.json').read_text(encoding='utf-8')) == data
    other = 'original' if engine == 'efficient' else 'efficient'
    loaded = state.load(tmp_path / 's.json', engine=other)
    assert loaded.engine_name == other and run_difference(loaded, t) is None
    assert [loaded.step() for _ in range(3)] == [t.step() for _ in range(3)]


def test_unreadable_and_foreign_files(tmp_path):
    cases = {
        'missing.json': (None, 'cannot be read'),
        'text.json': (b'anna\nbob\n', 'not a JSON state'),
        'latin1.json': (b'{"format": "\xe9"}', 'not a JSON state'),
        'other.json': (b'{"n_embd": 16}', 'not a microgpt state'),
        'newer.json': (json.dumps({'format': 'microgpt-state', 'version': 2}).encode(), 'unsupported state version 2'),
    }
    for name, (raw, words) in cases.items():
        path = tmp_path / name
        if raw is not None:
            path.write_bytes(raw)
        with pytest.raises(StateError, match=words) as info:
            state.load(path)
        if name != 'other.json' and name != 'newer.json':
            assert str(info.value).startswith(str(path))
    with pytest.raises(StateError, match='not a JSON state'):
        state.loads('{')


def test_damaged_golden_file():
    data = json.loads(GOLDEN_V1.read_text(encoding='utf-8'))
    damaged = [
        ({**data, 'step': True}, 'step'),
        ({**data, 'weights': [1, 2]}, 'weights do not match'),
        ({**data, 'weights': {**data['weights'], 'wpe': data['weights']['wpe'][:-1]}}, 'wpe should be 8x2'),
        ({**data, 'rng': [3, [1, 2], None]}, 'damaged state'),
        ({**data, 'uchars': 'abc'}, 'vocabulary'),
        ({**data, 'docs': []}, 'no documents'),
        ({**data, 'engine': 'gpu'}, "unknown engine 'gpu'"),
    ]
    for bad, words in damaged:
        with pytest.raises(StateError, match=words):
            state.from_json(json.loads(json.dumps(bad)))


# -- the optional log (issue 11) ------------------------------------------------------------------------------
def test_the_log_travels_with_the_state_and_is_checked():
    t = Trainer(V1_CONFIG, V1_WORDS)
    rows = [format_log_row(t.step()) for _ in range(4)]
    assert 'log' not in state.to_json(t)  # only when given
    data = json.loads(state.dumps(t, log=rows))
    assert data['log'] == rows and data['version'] == 1
    assert state.from_json(data).log == rows
    assert state.from_json(state.to_json(t)).log is None  # a file without one (version 1 as first written)
    assert state.load(GOLDEN_V1).log is None
    damaged = [
        (rows[:3], 'one row per step done'),
        ('rows', 'one row per step done'),
        (rows[:3] + ['5,1.0,0.01'], 'log row 4 is damaged'),
        (rows[:3] + [4], 'log row 4 is damaged'),
        (rows[:3] + ['4,x,0.01'], 'damaged state'),
    ]
    for log, words in damaged:
        with pytest.raises(StateError, match=words):
            state.from_json({**data, 'log': log})


def test_a_newer_version_is_named_as_such():
    data = json.loads(GOLDEN_V1.read_text(encoding='utf-8'))
    with pytest.raises(StateError, match='version 3: the file is from a newer microgpt'):
        state.from_json({**data, 'version': 3})
    with pytest.raises(StateError, match="unsupported state version '1'"):
        state.from_json({**data, 'version': '1'})


def test_the_cli_keeps_the_log_in_the_state_and_writes_the_whole_run(tmp_path):
    words = tmp_path / 'words.txt'
    words.write_text('\n'.join(V1_WORDS) + '\n', encoding='utf-8')
    flags = ['--n-embd', 2, '--n-head', 1, '--block-size', 8, '--steps', 30, '--samples', 0]
    assert R.run_cli('--input', words, *flags, '--log', tmp_path / 'whole.csv').returncode == 0
    first = R.run_cli('--input', words, *flags, '--stop-at', 12, '--save', tmp_path / 's.json')
    assert first.returncode == 0, first.stderr
    second = R.run_cli('--load', tmp_path / 's.json', '--samples', 0, '--log', tmp_path / 'continued.csv',
                       '--save', tmp_path / 'end.json')
    assert second.returncode == 0, second.stderr
    whole = (tmp_path / 'whole.csv').read_bytes()
    assert (tmp_path / 'continued.csv').read_bytes() == whole
    end = json.loads((tmp_path / 'end.json').read_text(encoding='utf-8'))
    assert (LOG_HEADER + '\n' + ''.join(r + '\n' for r in end['log'])).encode() == whole


# -- hostile states (issue 18): each refused with one message, before anything is built -------------------------
from hostile import REFUSED_STATES, STATE_BYTES_LIMIT_MB  # noqa: E402


@pytest.mark.parametrize('name, raw, message', REFUSED_STATES, ids=[case[0] for case in REFUSED_STATES])
def test_a_hostile_state_is_refused_with_one_message(name, raw, message, tmp_path):
    with pytest.raises(StateError) as e:
        state.loads(raw.decode('utf-8'), source=name)
    assert message in str(e.value)
    path = tmp_path / name
    path.write_bytes(raw)
    with pytest.raises(StateError) as e:
        state.load(path)
    assert message in str(e.value)


def test_the_cli_refuses_each_hostile_state_with_exit_2_and_one_line(tmp_path):
    for name, raw, message in REFUSED_STATES:
        (tmp_path / name).write_bytes(raw)
        done = R.run_cli('--load', tmp_path / name, '--samples', 0)
        assert done.returncode == 2 and done.stdout == '', (name, done.stderr)
        assert done.stderr.startswith('microgpt: ') and done.stderr.count('\n') == 1, (name, done.stderr)
        assert message in done.stderr, (name, done.stderr)


def test_a_state_file_over_the_bound_is_refused_unread(tmp_path):
    assert state.MAX_STATE_BYTES == STATE_BYTES_LIMIT_MB * 1024 * 1024
    path = tmp_path / 'huge.json'
    with open(path, 'wb') as f:  # sparse: nothing is written, the file just claims the size
        f.truncate(state.MAX_STATE_BYTES + 1)
    done = R.run_cli('--load', path, '--samples', 0)
    assert done.returncode == 2 and done.stdout == ''
    assert done.stderr == f'microgpt: {path} is 134.2 MB; a saved state may be at most {STATE_BYTES_LIMIT_MB} MB\n'
    with pytest.raises(StateError, match='a saved state may be at most'):
        state.loads(' ' * (state.MAX_STATE_BYTES + 1))


def test_the_nesting_check_takes_the_strings_out_and_is_quick():
    import time
    data = json.loads(GOLDEN_V1.read_text(encoding='utf-8'))
    data['docs'] = data['docs'] + ['[[[[[[[[[[[[[[[[[[[[', '{{{{{{{{{{{{{{{{{{\\"[[[[[[[[[[[[']  # brackets in text
    data['docs'] = [d for d in data['docs']]
    data['uchars'] = ''.join(sorted(set(''.join(data['docs']))))
    with pytest.raises(StateError, match='vocabulary|weights'):  # parsed: the vocabulary changed, not "too deep"
        state.loads(json.dumps(data))
    start = time.perf_counter()
    with pytest.raises(StateError, match='nested too deeply'):
        state.loads('[' * 5_000_000 + ']' * 5_000_000)
    assert time.perf_counter() - start < 5


def test_a_run_larger_than_a_state_may_be_is_not_written(monkeypatch, tmp_path):
    t = Trainer(V1_CONFIG, V1_WORDS)
    monkeypatch.setattr(state, 'MAX_STATE_BYTES', len(state.dumps(t)) - 1)
    with pytest.raises(StateError, match='cannot be saved: it takes .* MB; a saved state may be at most'):
        state.dumps(t)
    with pytest.raises(StateError):
        state.save(t, tmp_path / 'run.json')
    assert not (tmp_path / 'run.json').exists()
