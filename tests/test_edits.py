"""Edited engine code (microgpt/edits.py): a student's change to model.py or autograd.py trains exactly as the
same files would in place of the shipped ones, and a broken change is a CodeError naming its file and line,
with nothing of the model lost."""
import gc
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import microgpt as mg
from microgpt import state
from microgpt.edits import EDITABLE, CodeError, EditedCode, edited, original_sources

ROOT = Path(__file__).resolve().parent.parent
MODEL, AUTOGRAD = 'microgpt/model.py', 'microgpt/autograd.py'
DOCS = ['emma', 'olivia', 'ava', 'isabella', 'sophia', 'mia', 'amelia', 'harper', 'evelyn', 'abigail']
SQUARED_RELU = ('x = [xi.relu() for xi in x]', 'x = [xi.relu() ** 2 for xi in x]')


def config(**kw):
    return mg.Config(n_embd=8, n_head=2, n_layer=1, block_size=8, num_steps=kw.pop('num_steps', 6), **kw)


def edit(path, old, new):
    """The shipped files with one exact replacement in `path`; returns (sources, the 1-based line of `new`)."""
    sources = original_sources()
    assert sources[path].count(old) == 1, f'{old!r} should occur once in {path}'
    sources[path] = sources[path].replace(old, new)
    first = new.splitlines()[0] if new.strip() else new
    line = next(i for i, text in enumerate(sources[path].splitlines(), 1) if first in text) if first else None
    return sources, line


def losses(trainer, steps):
    return [trainer.step().loss for _ in range(steps)]


# -- edits that work ---------------------------------------------------------------------------------------
def test_the_shipped_files_and_a_reverted_edit_are_the_original_engine():
    assert list(original_sources()) == list(EDITABLE)
    assert original_sources()[MODEL] == (ROOT / MODEL).read_text(encoding='utf-8')
    assert edited(original_sources()) is None
    sources, _ = edit(MODEL, *SQUARED_RELU)
    sources[MODEL] = sources[MODEL].replace(SQUARED_RELU[1], SQUARED_RELU[0])  # made, then undone
    assert edited(sources) is None


def test_an_edit_that_changes_no_arithmetic_trains_bit_for_bit_like_the_original():
    sources, _ = edit(MODEL, 'def linear(x, w):', '# a comment a student added\ndef linear(x, w):')
    code = edited(sources)
    assert code.changed == [MODEL] and '+# a comment a student added' in code.diff()
    plain, mine = mg.Trainer(config(), DOCS), mg.Trainer(config(), DOCS, code=code)
    assert losses(mine, 6) == losses(plain, 6)
    assert mine.engine.weights() == plain.engine.weights()
    assert mine.sample(3, rng=__import__('random').Random(5)) == plain.sample(3, rng=__import__('random').Random(5))


def test_squared_relu_trains_differently_and_exactly_as_the_edited_files_in_place(tmp_path):
    sources, _ = edit(MODEL, *SQUARED_RELU)
    code = edited(sources)
    mine = mg.Trainer(config(), DOCS, code=code)
    edited_losses = losses(mine, 6)
    assert edited_losses != losses(mg.Trainer(config(), DOCS), 6)
    # the oracle: a copy of the package with the edited file in place of the shipped one, run by the CLI
    shutil.copytree(ROOT / 'microgpt', tmp_path / 'microgpt', ignore=shutil.ignore_patterns('__pycache__'))
    (tmp_path / MODEL).write_text(sources[MODEL], encoding='utf-8')
    (tmp_path / 'input.txt').write_text('\n'.join(DOCS) + '\n', encoding='utf-8')
    subprocess.run([sys.executable, '-m', 'microgpt', '--n-embd', '8', '--n-head', '2', '--n-layer', '1',
                    '--block-size', '8', '--steps', '6', '--samples', '0', '--log', 'log.csv'],
                   cwd=tmp_path, check=True, capture_output=True)
    rows = (tmp_path / 'log.csv').read_text().splitlines()[1:]
    assert [float(r.split(',')[1]) for r in rows] == edited_losses
    assert [mg.format_log_row(r) for r in [mg.StepResult(i + 1, l, mine.learning_rate_at(i))
                                           for i, l in enumerate(edited_losses)]] == rows


def test_an_edited_run_saves_its_code_and_continues_exactly(tmp_path):
    sources, _ = edit(MODEL, *SQUARED_RELU)
    whole = losses(mg.Trainer(config(), DOCS, code=edited(sources)), 6)
    first = mg.Trainer(config(), DOCS, code=edited(sources))
    losses(first, 3)
    data = json.loads(state.dumps(first))
    assert data['code'] == {MODEL: sources[MODEL]}
    again = state.loads(json.dumps(data), code_choice='trust')
    assert again.code.changed == [MODEL]
    assert losses(again, 3) == whole[3:]
    assert 'code' not in state.to_json(mg.Trainer(config(), DOCS))


def test_the_cli_continues_a_saved_edited_run(tmp_path):
    sources, _ = edit(MODEL, *SQUARED_RELU)
    whole = losses(mg.Trainer(config(), DOCS, code=edited(sources)), 6)
    first = mg.Trainer(config(), DOCS, code=edited(sources))
    losses(first, 3)
    state.save(first, tmp_path / 'run.json')
    done = subprocess.run([sys.executable, '-m', 'microgpt', '--load', 'run.json', '--samples', '0', '--log', 'log.csv',
                           '--trust-code'], cwd=tmp_path, capture_output=True, text=True, env={'PYTHONPATH': str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert 'continuing with the edited code saved in run.json (microgpt/model.py)' in done.stderr
    rows = (tmp_path / 'log.csv').read_text().splitlines()[1:]
    assert [float(r.split(',')[1]) for r in rows] == whole[3:]  # saved without its log: the new rows


def test_edited_code_runs_on_the_original_engine_only():
    sources, _ = edit(MODEL, *SQUARED_RELU)
    with pytest.raises(mg.ConfigError) as e:
        mg.Trainer(config(), DOCS, engine='efficient', code=edited(sources))
    assert e.value.field == 'engine' and 'original engine only' in str(e.value)


# -- edits that break: the file, the line, the message; the model stays ------------------------------------
BROKEN = [  # (name, file, old, new, what the message says, fails when: 'build' or 'step')
    ('syntax', MODEL, 'def rmsnorm(x):', 'def rmsnorm(x)', 'SyntaxError', 'build'),
    ('indentation', MODEL, '    scale = (ms + 1e-5) ** -0.5', '      scale = (ms + 1e-5) ** -0.5',
     'IndentationError', 'build'),
    ('import time', AUTOGRAD, 'import math', 'import math\nimport maths_of_my_own', "ModuleNotFoundError", 'build'),
    ('typo in gpt', MODEL, '    x = rmsnorm(x)\n    for li', '    x = rmsnom(x)\n    for li',
     "NameError: name 'rmsnom' is not defined", 'step'),
    ('autograd', AUTOGRAD, 'return Value(self.data + other.data, (self, other), (1, 1))',
     'return Value(self.data + other.dat, (self, other), (1, 1))', "AttributeError", 'step'),
    ('gpt returns a tuple', MODEL, '    return logits\n', '    return logits, x\n', 'AttributeError', 'step'),
    ('train_step returns the Value', MODEL, '        return loss.data\n', '        return loss\n',
     'train_step returned Value(data=', 'step'),
    ('train_step returns a float subclass', MODEL, '        return loss.data\n',
     "        return type('FloatLike', (float,), {'__repr__': lambda self: '<b>html</b>'})(loss.data)\n",
     'a FloatLike, not a float', 'step'),
    ('nan loss', MODEL, "return (1 / n) * sum(losses)", "return (1 / n) * sum(losses) * float('nan')",
     'the loss is nan: not a finite number', 'step'),
    ('init_weights', MODEL, "weights = {'wte': matrix(rng, vocab_size, n_embd)", "weights = {'wte': matrix(rng, vocab_size)",
     'TypeError', 'build'),
    ('no init_weights', MODEL, 'def init_weights(', 'def initial_weights(', 'defines no init_weights', 'build'),
    ('a late failure in Adam', MODEL, '        self.m, self.v = m, v\n', "        raise RuntimeError('late')\n",
     "RuntimeError: late", 'step'),
]


@pytest.mark.parametrize('name, path, old, new, message, when', BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_edit_says_its_file_line_and_message(name, path, old, new, message, when):
    sources, line = edit(path, old, new)
    if name.startswith('train_step returns'):  # reported at the function that returned it
        line = next(i for i, t in enumerate(sources[path].splitlines(), 1) if 'def train_step' in t)
    if name == 'nan loss':  # the check that found it, in the edited file
        line = next(i for i, t in enumerate(sources[path].splitlines(), 1) if 'raise NonFiniteLoss' in t)
    if name == 'gpt returns a tuple':  # where the tuple is used as logits
        line = next(i for i, t in enumerate(sources[path].splitlines(), 1) if 'max_val = max(' in t)
    if name == 'no init_weights':
        line = None
    if name == 'import time':
        line += 1
    with pytest.raises(CodeError) as e:
        trainer = mg.Trainer(config(), DOCS, code=EditedCode(sources))
        before = trainer.engine.weights(), trainer.engine.adam_state()
        assert when == 'step', 'the edit should have failed to build'
        losses(trainer, 2)
    error = e.value
    assert (error.file, error.line) == (path, line)
    assert message in error.message and message in str(error)
    if when == 'step':
        assert error.step == 1 and trainer.step_count == 0
        assert (trainer.engine.weights(), trainer.engine.adam_state()) == before  # nothing of the step applied
    else:
        assert error.step is None


def test_a_failing_step_keeps_the_steps_before_it():
    sources, _ = edit(MODEL, '        loss.backward()\n', '        loss.backward()\n        assert step < 2\n')
    trainer = mg.Trainer(config(), DOCS, code=edited(sources))
    with pytest.raises(CodeError) as e:
        trainer.train(10)
    assert [r.step for r in e.value.results] == [1, 2] and trainer.step_count == 2 and e.value.step == 3
    assert 'AssertionError' in str(e.value) and '(at step 3)' in str(e.value)


def test_sampling_and_forward_passes_of_broken_code_say_where():
    sources, line = edit(MODEL, '        probs = softmax([l / temperature for l in logits])',
                         '        probs = softmax([l / temperatur for l in logits])')
    trainer = mg.Trainer(config(), DOCS, code=edited(sources))
    losses(trainer, 1)  # training does not use next_token_probs
    with pytest.raises(CodeError) as e:
        trainer.sample(1)
    assert (e.value.file, e.value.line) == (MODEL, line) and 'NameError' in e.value.message
    sources, line = edit(MODEL, '            maps[li][h].append([w.data for w in attn_weights])',
                         '            maps[li][h].append([w.dta for w in attn_weights])')
    trainer = mg.Trainer(config(), DOCS, code=edited(sources))
    with pytest.raises(CodeError) as e:
        trainer.attention_maps('emma')
    assert (e.value.file, e.value.line) == (MODEL, line)


def test_a_saved_state_with_code_that_does_not_compile_says_so():
    data = json.loads(state.dumps(mg.Trainer(config(), DOCS)))
    data['code'] = {MODEL: 'def broken(:\n'}
    with pytest.raises(CodeError) as e:
        state.from_json(data, code_choice='trust')
    assert (e.value.file, e.value.line) == (MODEL, 1)
    data['code'] = {'microgpt/cli.py': 'print(1)\n'}
    with pytest.raises(CodeError) as e:
        state.from_json(data)
    assert 'is not one of the files you can edit' in str(e.value)
    data['code'] = ['not', 'a', 'dict']
    with pytest.raises(mg.StateError):
        state.from_json(data)


def test_the_cli_refuses_a_saved_state_whose_code_does_not_compile(tmp_path):
    data = json.loads(state.dumps(mg.Trainer(config(), DOCS)))
    data['code'] = {MODEL: original_sources()[MODEL].replace('def rmsnorm(x):', 'def rmsnorm(x)')}
    (tmp_path / 'run.json').write_text(json.dumps(data), encoding='utf-8')
    done = subprocess.run([sys.executable, '-m', 'microgpt', '--load', 'run.json', '--samples', '0', '--trust-code'],
                          cwd=tmp_path, capture_output=True, text=True, env={'PYTHONPATH': str(ROOT)})
    line = next(i for i, t in enumerate(data['code'][MODEL].splitlines(), 1) if 'def rmsnorm(x)' in t)
    assert done.returncode == 2 and done.stdout == ''
    assert done.stderr == f'microgpt: microgpt/model.py, line {line}: SyntaxError: expected \':\'\n'


# -- consent (issue 18): a state's code compiles and runs only when the person trusts it --------------------------
ADDED_WEIGHT = ("    return weights\n", "    weights['extra'] = matrix(rng, 2, 2)\n    return weights\n")


def edited_modules():
    return {name for name in sys.modules if name.startswith('microgpt_edited_')}


def edited_state(*change, steps=3):
    """A run of edited code saved after `steps` steps: (its state as JSON data, the edited sources)."""
    sources, _ = edit(MODEL, *(change or SQUARED_RELU))
    trainer = mg.Trainer(config(), DOCS, code=edited(sources))
    losses(trainer, steps)
    return json.loads(state.dumps(trainer)), sources


def test_a_state_with_code_is_refused_with_its_diff_and_nothing_of_it_compiles():
    data, sources = edited_state()
    data['code'][MODEL] += "\nraise SystemExit('the code ran')\n"  # would end the process if it ran
    before = edited_modules()
    with pytest.raises(mg.CodeConsentNeeded) as e:
        state.from_json(data)
    assert isinstance(e.value, mg.StateError) and isinstance(e.value, mg.MicrogptError)
    assert e.value.changed == [MODEL] and e.value.original_fits
    assert '+        x = [xi.relu() ** 2 for xi in x]' in e.value.diff
    assert "+raise SystemExit('the code ran')" in e.value.diff
    assert 'carries edited code (microgpt/model.py)' in str(e.value)
    assert edited_modules() == before  # nothing compiled
    with pytest.raises(mg.CodeConsentNeeded):
        state.loads(json.dumps(data))
    with pytest.raises(mg.CodeConsentNeeded):
        state.from_json(data)


def test_a_trusted_state_continues_with_its_code_and_a_dropped_one_with_the_shipped_code():
    data, sources = edited_state()
    whole = losses(mg.Trainer(config(), DOCS, code=edited(sources)), 6)
    trusted = state.from_json(data, code_choice='trust')
    assert trusted.code.changed == [MODEL] and losses(trusted, 3) == whole[3:]
    dropped = state.from_json(data, code_choice='drop')
    shipped = state.from_json({k: v for k, v in data.items() if k != 'code'})
    assert dropped.code is None and 'code' not in state.to_json(dropped)
    assert losses(dropped, 3) == losses(shipped, 3) != whole[3:]
    with pytest.raises(mg.MicrogptError, match='code choice'):
        state.from_json(data, code_choice='yes')


def test_the_original_cannot_be_kept_when_the_edit_changed_the_weights():
    data, _ = edited_state(*ADDED_WEIGHT, steps=1)
    assert 'extra' in data['weights']
    with pytest.raises(mg.CodeConsentNeeded) as e:
        state.from_json(data)
    assert e.value.original_fits is False
    with pytest.raises(mg.StateError, match='do not fit the shipped code'):
        state.from_json(data, code_choice='drop')
    assert 'extra' in state.from_json(data, code_choice='trust').engine.weights()


def test_code_that_is_the_shipped_code_or_names_another_file_needs_no_consent():
    data = json.loads(state.dumps(mg.Trainer(config(), DOCS)))
    data['code'] = original_sources()  # unchanged: the shipped code, nothing to agree to
    assert state.from_json(data).code is None
    data['code'] = {'microgpt/cli.py': 'print(1)\n'}
    with pytest.raises(CodeError, match='is not one of the files you can edit'):
        state.from_json(data)


def test_the_cli_asks_for_trust_code_and_runs_nothing_without_it(tmp_path):
    data, _ = edited_state()
    data['code'][MODEL] += "\nimport sys; sys.stdout.write('the code ran'); sys.exit(0)\n"
    (tmp_path / 'run.json').write_text(json.dumps(data), encoding='utf-8')
    done = subprocess.run([sys.executable, '-m', 'microgpt', '--load', 'run.json', '--samples', '0'],
                          cwd=tmp_path, capture_output=True, text=True, env={'PYTHONPATH': str(ROOT)})
    assert done.returncode == 2 and done.stdout == ''
    assert done.stderr == ('microgpt: run.json carries edited code (microgpt/model.py): it runs only with '
                           '--trust-code\n')
    trusted = subprocess.run([sys.executable, '-m', 'microgpt', '--load', 'run.json', '--samples', '0',
                              '--trust-code'], cwd=tmp_path, capture_output=True, text=True,
                             env={'PYTHONPATH': str(ROOT)})
    assert trusted.stdout == 'the code ran'  # with the flag it is the user's own code


# -- what edited code returns is checked by type; a failed edit leaves nothing behind (issue 18) -----------------
def test_a_state_of_weights_that_are_not_floats_is_not_written():
    sources, _ = edit(MODEL, "        return {name: [[p.data for p in row]",
                      "        return {name: [[type('FloatLike', (float,), {})(p.data) for p in row]")
    trainer = mg.Trainer(config(), DOCS, code=edited(sources))
    losses(trainer, 1)
    with pytest.raises(mg.StateError, match=r'cannot be saved: weights wte holds -?\d\.\d+: a FloatLike, not a float'):
        state.dumps(trainer)
    sources, _ = edit(MODEL, '        return list(self.m), list(self.v)', "        return list(self.m), [float('nan')] * len(self.v)")
    trainer = mg.Trainer(config(), DOCS, code=edited(sources))
    with pytest.raises(mg.StateError, match='cannot be saved: adam_v holds nan: not a finite number'):
        state.dumps(trainer)


FAILING_AT_IMPORT = "ballast = [0.0] * 2_000_000  # 16 MB a failed edit must give back\nraise RuntimeError('no')\n"


def test_a_failed_edit_leaves_no_module_in_sys_modules():
    gc.collect()  # the code of earlier tests' models, gone with them
    before = edited_modules()
    for name, path, old, new, message, when in BROKEN:
        sources, _ = edit(path, old, new)
        with pytest.raises(CodeError):
            losses(mg.Trainer(config(), DOCS, code=EditedCode(sources)), 2)
    with pytest.raises(CodeError):
        EditedCode({MODEL: FAILING_AT_IMPORT})
    gc.collect()
    assert edited_modules() == before
    in_use = mg.Trainer(config(), DOCS, code=edited(edit(MODEL, *SQUARED_RELU)[0]))
    assert edited_modules() == before  # a model in use holds its modules itself: they go when it goes
    losses(in_use, 2)
    assert in_use.sample(2)


def test_ten_failed_edits_leave_the_heap_where_it_was():
    import tracemalloc
    with pytest.raises(CodeError):
        EditedCode({MODEL: FAILING_AT_IMPORT})  # warm: the first compile fills caches
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(10):
            with pytest.raises(CodeError):
                EditedCode({MODEL: FAILING_AT_IMPORT})
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 200_000, f'ten failed edits kept {grown:,} bytes'
