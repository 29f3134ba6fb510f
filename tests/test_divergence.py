"""Diverging runs (issue 13): a step whose loss is not finite, or whose arithmetic fails, raises TrainingError
with one clear message; the model stays at the last completed step; Trainer.train hands back the steps its
batch completed; the CLI prints them, then the message, and exits with status 2."""
import json
import math

import pytest

import reference as R
from microgpt import Config, MicrogptError, Trainer, TrainingError, format_log_row
from microgpt import autograd
from microgpt.efficient import EfficientEngine
from microgpt.engine import NonFiniteLoss
from microgpt.trainer import LOG_HEADER

from engine_cases import WORDS

# learning rate 1: the run blows up within a few steps (probs[target] becomes 0, and log(0) fails)
DIVERGING = Config(n_embd=8, n_head=2, block_size=8, learning_rate=1.0, num_steps=50, seed=0)
ENGINES = ['original', 'efficient']


def snapshot(trainer):
    """Everything a run is, as text (json writes nan as NaN, so a model with nan weights compares too; such a
    model is no state: export_state refuses it)."""
    return json.dumps([trainer.engine.weights(), trainer.engine.adam_state(), trainer.rng.getstate(),
                       trainer.step_count])


def until_failure(trainer):
    """step() until a step fails: the completed steps' results and the error."""
    results = []
    while True:
        try:
            results.append(trainer.step())
        except TrainingError as e:
            return results, e


@pytest.mark.parametrize('engine', ENGINES)
def test_a_diverging_step_raises_and_changes_nothing(engine):
    trainer = Trainer(DIVERGING, WORDS, engine)
    results, error = until_failure(trainer)
    n = len(results) + 1
    assert n > 1 and not trainer.done
    assert error.step == n and error.results == []
    assert str(error) == f'the arithmetic failed at step {n} (math domain error); lower the learning rate'
    assert isinstance(error, MicrogptError) and isinstance(error.__cause__, ValueError)
    assert all(math.isfinite(r.loss) for r in results)
    # the model is the one after the last completed step: as a run stopped there
    assert trainer.step_count == n - 1
    stopped = Trainer(DIVERGING, WORDS, engine)
    assert [stopped.step() for _ in range(n - 1)] == results
    assert snapshot(trainer) == snapshot(stopped)
    # trying again fails the same way, still changing nothing
    with pytest.raises(TrainingError) as again:
        trainer.step()
    assert str(again.value) == str(error) and snapshot(trainer) == snapshot(stopped)
    assert trainer.sample(3) == stopped.sample(3)


def test_both_engines_fail_at_the_same_step():
    errors = [until_failure(Trainer(DIVERGING, WORDS, engine)) for engine in ENGINES]
    assert errors[0][0] == errors[1][0] and str(errors[0][1]) == str(errors[1][1])


@pytest.mark.parametrize('engine', ENGINES)
def test_train_hands_back_the_completed_steps_of_its_batch(engine):
    expected, failure = until_failure(Trainer(DIVERGING, WORDS, engine))
    trainer = Trainer(DIVERGING, WORDS, engine)
    first = trainer.train(1)
    with pytest.raises(TrainingError) as info:
        trainer.train(100)
    assert first + info.value.results == expected and len(info.value.results) >= 1
    assert str(info.value) == str(failure) and trainer.step_count == len(expected)
    with pytest.raises(TrainingError) as info:  # a batch whose first step fails: no results
        trainer.train(100, seconds=0)
    assert info.value.results == []


@pytest.mark.parametrize('engine', ENGINES)
def test_a_nan_loss_stops_before_the_update(engine):
    trainer = Trainer(DIVERGING.replace(learning_rate=0.01), WORDS, engine)
    weights = trainer.engine.weights()
    weights['wpe'][0][3] = math.nan  # every document's first position: the loss is nan
    trainer.engine = type(trainer.engine)(trainer.config, weights)  # (a state with a nan is refused: issue 18)
    before = snapshot(trainer)
    with pytest.raises(TrainingError) as info:
        trainer.step()
    assert str(info.value) == 'the loss became not a number (nan) at step 1; lower the learning rate'
    assert info.value.step == 1 and snapshot(trainer) == before
    assert trainer.engine.adam_state() == ([0.0] * trainer.num_params,) * 2


class Failing:
    """An engine whose train_step raises a given exception from step `at` (0-based) on."""
    name = 'failing'

    def __init__(self, engine, at, exc):
        self.engine, self.at, self.exc = engine, at, exc

    def train_step(self, tokens, step, lr_t):
        if step >= self.at:
            raise self.exc
        return self.engine.train_step(tokens, step, lr_t)


@pytest.mark.parametrize('exc,message', [
    (NonFiniteLoss(math.inf), 'the loss became infinite at step 3; lower the learning rate'),
    (NonFiniteLoss(-math.nan), 'the loss became not a number (nan) at step 3; lower the learning rate'),
    (ZeroDivisionError('float division by zero'),
     'the arithmetic failed at step 3 (float division by zero); lower the learning rate'),
    (OverflowError('math range error'), 'the arithmetic failed at step 3 (math range error); lower the learning rate'),
])
def test_messages(exc, message):
    t = Trainer(DIVERGING.replace(learning_rate=0.01), WORDS)
    t = Trainer.resume(t.config, t.docs, t.tokenizer, t.rng, Failing(t.engine, 2, exc), 0)
    with pytest.raises(TrainingError) as info:
        t.train(10)
    assert str(info.value) == message and info.value.step == 3 and len(info.value.results) == 2
    assert t.step_count == 2


def test_other_errors_are_not_training_errors():
    t = Trainer(DIVERGING, WORDS)
    t = Trainer.resume(t.config, t.docs, t.tokenizer, t.rng, Failing(t.engine, 0, KeyError('x')), 0)
    with pytest.raises(KeyError):
        t.step()


def huge_last_gradient(monkeypatch, trainer):
    """Make the backward pass give the last parameter a gradient whose square overflows (1e200 ** 2): Adam
    fails on the last parameter, after computing every other one."""
    if trainer.engine_name == 'original':
        backward = autograd.Value.backward

        def patched(self):
            backward(self)
            trainer.engine.params[-1].grad = 1e200
        monkeypatch.setattr(autograd.Value, 'backward', patched)
    else:
        backward = EfficientEngine._backward

        def patched(self, *args):
            grads = backward(self, *args)
            grads[-1][-1] = 1e200
            return grads
        monkeypatch.setattr(EfficientEngine, '_backward', patched)


@pytest.mark.parametrize('engine', ENGINES)
def test_an_overflow_in_adam_applies_no_partial_update(engine, monkeypatch):
    config = DIVERGING.replace(learning_rate=0.01)
    trainer = Trainer(config, WORDS, engine)
    trainer.step()
    before = snapshot(trainer)
    with monkeypatch.context() as m:
        huge_last_gradient(m, trainer)
        with pytest.raises(TrainingError) as info:
            trainer.step()
    assert str(info.value) == 'the arithmetic failed at step 2 (Numerical result out of range); lower the learning rate'
    assert isinstance(info.value.__cause__, OverflowError)
    assert snapshot(trainer) == before  # no weight and no Adam moment changed
    if engine == 'original':
        assert all(p.grad == 0 for p in trainer.engine.params)  # no gradient left to leak into the next step
    # without the overflow, the step is the one an untouched run takes
    plain = Trainer(config, WORDS, engine)
    assert [plain.step(), plain.step()][1] == trainer.step()
    assert snapshot(trainer) == snapshot(plain)


@pytest.mark.parametrize('engine', ENGINES)
def test_the_cli_prints_the_completed_steps_then_the_message(engine, tmp_path):
    words = tmp_path / 'words.txt'
    words.write_text('\n'.join(WORDS) + '\n', encoding='utf-8')
    flags = ['--n-embd', 8, '--n-head', 2, '--block-size', 8, '--learning-rate', 1, '--steps', 50, '--seed', 0]
    out = R.run_cli('--input', words, *flags, '--engine', engine, '--log', tmp_path / 'log.csv',
                    '--save', tmp_path / 'never.json')
    trainer = Trainer(DIVERGING, WORDS, engine)
    results, error = until_failure(trainer)
    assert out.returncode == 2
    assert out.stderr == f'microgpt: {error}\n'
    header = f'num docs: {len(WORDS)}\nvocab size: {trainer.vocab_size}\nnum params: {trainer.num_params}\n'
    assert out.stdout == (header + ''.join(f'step {r.step:4d} / {50:4d} | loss {r.loss:.4f}\n' for r in results))
    assert (tmp_path / 'log.csv').read_text(encoding='utf-8') == \
        LOG_HEADER + '\n' + ''.join(format_log_row(r) + '\n' for r in results)
    assert not (tmp_path / 'never.json').exists()
