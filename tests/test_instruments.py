"""The instruments' data, natively: the validation split (config.validation) and its loss, the CLI's --validation,
and what the page's views show (next-token probabilities, attention maps). The page itself: test_instruments_page.py.
"""
import math
import random

import pytest

import reference as R
from microgpt import Config, ConfigError, MicrogptError, Trainer, format_log_row, state
from microgpt.trainer import HOLD_OUT, LOG_HEADER, VALIDATION_EVERY, VALIDATION_SAMPLE, split_documents

from engine_cases import WORDS, run_difference

# 60 distinct documents: 6 held out
DOCS = [w + suffix for suffix in ('', 'x', 'y') for w in WORDS[:20]]
ENGINES = ['original', 'efficient']


def small(**changes):
    return Config(n_embd=8, n_head=2, block_size=8, num_steps=3 * VALIDATION_EVERY // 2, **changes)


def log_bytes(results):
    return (LOG_HEADER + '\n' + ''.join(format_log_row(r) + '\n' for r in results)).encode()


# -- the split ---------------------------------------------------------------------------------------------------
def test_off_by_default_and_nothing_is_held_out():
    assert Config().validation is False
    trainer = Trainer(small(), DOCS)
    assert trainer.held_out == [] and sorted(trainer.docs) == sorted(DOCS)
    assert not trainer.validation_due()


def test_the_held_out_tenth_is_the_end_of_the_seeds_shuffle_and_the_rest_starts_the_same():
    off, on = Trainer(small(), DOCS), Trainer(small(validation=True), DOCS)
    assert len(on.held_out) == len(DOCS) // HOLD_OUT == 6
    assert on.docs + on.held_out == off.docs  # the same shuffle, the last tenth held out
    assert not set(on.docs) & set(on.held_out)
    # the run's generator is used exactly as without the split: the same initial weights, the same generator
    assert on.engine.weights() == off.engine.weights() and on.rng.getstate() == off.rng.getstate()
    assert on.vocab_size == off.vocab_size  # the vocabulary counts every document's characters


def test_the_split_is_fixed_by_the_seed():
    a, b = Trainer(small(validation=True), DOCS), Trainer(small(validation=True), list(DOCS))
    other = Trainer(small(validation=True, seed=7), DOCS)
    assert a.held_out == b.held_out and a.held_out != other.held_out


@pytest.mark.parametrize('engine', ENGINES)
def test_held_out_documents_are_never_trained_on(engine):
    trainer = Trainer(small(validation=True), DOCS, engine)
    seen = []
    train_step = trainer.engine.train_step
    trainer.engine.train_step = lambda tokens, step, lr: seen.append(trainer.tokenizer.decode(tokens[1:-1])) or \
        train_step(tokens, step, lr)
    trainer.train(2 * len(trainer.docs) + 3)  # more than two epochs
    assert len(seen) == 2 * len(trainer.docs) + 3
    assert set(seen) == set(trainer.docs) and not set(seen) & set(trainer.held_out)


@pytest.mark.parametrize('count', [1, 9])
def test_too_few_documents_to_hold_out_a_tenth(count):
    with pytest.raises(ConfigError) as e:
        Trainer(small(validation=True), DOCS[:count])
    assert e.value.field == 'validation'
    assert str(e.value) == (f'validation: holding out 10% needs at least 10 documents; the dataset has {count}')
    assert split_documents(small(validation=True), DOCS[:10]) == (DOCS[:9], DOCS[9:10])


# -- the validation loss --------------------------------------------------------------------------------------------
@pytest.mark.parametrize('engine', ENGINES)
def test_the_validation_loss_is_the_mean_loss_of_the_first_held_out_documents(engine):
    docs = [f'{w}{i}' for i in range(4) for w in WORDS[:26]][:100] + ['q' * 3]  # 10 held out... of 101
    trainer = Trainer(small(validation=True), [d.replace('0', 'o') for d in docs], engine)
    sample = trainer.held_out[:VALIDATION_SAMPLE]
    assert len(sample) == min(VALIDATION_SAMPLE, len(trainer.held_out))
    assert trainer.validation_loss() == sum(trainer.loss(d) for d in sample) / len(sample)
    assert trainer.validation_loss() == pytest.approx(math.log(trainer.vocab_size), rel=0.1)  # untrained: near uniform


def due_steps(trainer):
    steps = []
    if trainer.validation_due():
        steps.append(trainer.step_count)
    while not trainer.done:
        trainer.step()
        if trainer.validation_due():
            steps.append(trainer.step_count)
    return steps


def test_a_validation_loss_is_due_at_step_0_every_k_steps_and_at_the_end():
    assert due_steps(Trainer(small(validation=True), DOCS, 'efficient')) == [0, VALIDATION_EVERY,
                                                                             3 * VALIDATION_EVERY // 2]


@pytest.mark.parametrize('engine', ENGINES)
def test_evaluation_never_changes_the_training_run(engine):
    """The same split, trained with a validation loss wherever one is due and without any: the same log bytes,
    weights, Adam state, generator and samples."""
    evaluated, plain = Trainer(small(validation=True), DOCS, engine), Trainer(small(validation=True), DOCS, engine)
    losses, rows_a, rows_b = [], [], []
    while not evaluated.done:
        rows_a.append(evaluated.step())
        rows_b.append(plain.step())
        if evaluated.validation_due():
            losses.append(evaluated.validation_loss())
            evaluated.next_token_probs('am')  # the views too
            evaluated.attention_maps('amelia')
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    assert log_bytes(rows_a) == log_bytes(rows_b)
    assert run_difference(evaluated, plain) is None
    assert evaluated.sample(5) == plain.sample(5)


# -- saved state -------------------------------------------------------------------------------------------------
def test_the_state_keeps_the_split_and_continues_exactly():
    config = small(validation=True)
    whole = Trainer(config, DOCS, 'efficient')
    whole_results = [whole.step() for _ in range(config.num_steps)]
    part = Trainer(config, DOCS, 'efficient')
    [part.step() for _ in range(40)]
    data = state.to_json(part)
    assert data['config']['validation'] is True and data['docs'] == part.docs + part.held_out
    loaded = state.from_json(state.to_json(state.loads(state.dumps(part))))
    assert loaded.held_out == part.held_out and loaded.docs == part.docs
    rest = [loaded.step() for _ in range(config.num_steps - 40)]
    assert log_bytes(rest) == log_bytes(whole_results[40:])
    assert loaded.validation_loss() == whole.validation_loss()


def test_a_run_without_validation_saves_no_validation_key():
    """Files of runs without it stay as they were (readable by versions before the setting)."""
    data = state.to_json(Trainer(small(), DOCS))
    assert 'validation' not in data['config']
    assert state.from_json(data).config == small()


# -- the CLI -----------------------------------------------------------------------------------------------------
@pytest.fixture
def docs_file(tmp_path):
    path = tmp_path / 'docs.txt'
    path.write_text('\n'.join(DOCS) + '\n', encoding='utf-8')
    return path


SMALL_FLAGS = ['--n-embd', 8, '--n-head', 2, '--block-size', 8, '--steps', 3 * VALIDATION_EVERY // 2,
               '--engine', 'efficient', '--samples', 3]


def test_the_cli_prints_validation_losses_and_logs_the_same_csv(docs_file, tmp_path):
    run = R.run_cli('--input', docs_file, *SMALL_FLAGS, '--validation', '--log', tmp_path / 'log.csv')
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[:2] == [f'num docs: {len(DOCS) - 6}', 'held out for validation: 6']
    trainer = Trainer(small(validation=True), DOCS, 'efficient')
    expected = [f'step    0 /  150 | validation loss {trainer.validation_loss():.4f}']
    results = []
    for _ in range(150):
        results.append(trainer.step())
        line = f'step {trainer.step_count:4d} /  150 | loss {results[-1].loss:.4f}'
        if trainer.validation_due():
            line += f' | validation loss {trainer.validation_loss():.4f}'
        expected.append(line)
    assert [line for line in lines if line.startswith('step ')] == expected
    assert sum('validation loss' in line for line in lines) == 3  # steps 0, 100, 150
    assert (tmp_path / 'log.csv').read_bytes() == log_bytes(results)  # step,loss,learning_rate only


def test_the_cli_without_the_flag_prints_no_validation(docs_file):
    run = R.run_cli('--input', docs_file, *SMALL_FLAGS)
    assert run.returncode == 0 and 'validation' not in run.stdout and 'held out' not in run.stdout


def test_the_cli_save_and_load_continue_a_validation_run(docs_file, tmp_path):
    whole = R.run_cli('--input', docs_file, *SMALL_FLAGS, '--validation')
    first = R.run_cli('--input', docs_file, *SMALL_FLAGS, '--validation', '--stop-at', 120,
                      '--save', tmp_path / 'run.json')
    rest = R.run_cli('--load', tmp_path / 'run.json', '--samples', 3)
    assert whole.returncode == first.returncode == rest.returncode == 0, rest.stderr
    steps = [line for line in whole.stdout.splitlines() if line.startswith('step ')]
    assert first.stdout.splitlines()[4:4 + 121] == steps[:121]
    assert rest.stdout.splitlines()[:4] == whole.stdout.splitlines()[:4]
    assert rest.stdout.splitlines()[4:] == whole.stdout.splitlines()[4 + 121:]  # steps 121-150, the samples


def test_the_cli_cannot_turn_validation_on_when_continuing(docs_file, tmp_path):
    saved = R.run_cli('--input', docs_file, *SMALL_FLAGS, '--stop-at', 1, '--save', tmp_path / 'run.json')
    assert saved.returncode == 0, saved.stderr
    run = R.run_cli('--load', tmp_path / 'run.json', '--validation')
    assert run.returncode == 2
    assert run.stderr.startswith('microgpt: --validation cannot change when continuing with --load')


def test_the_cli_refuses_too_few_documents_to_hold_out(tmp_path):
    (tmp_path / 'few.txt').write_text('ab\nba\naab\n', encoding='utf-8')
    run = R.run_cli('--input', tmp_path / 'few.txt', '--validation')
    assert run.returncode == 2
    assert run.stderr == 'microgpt: validation: holding out 10% needs at least 10 documents; the dataset has 3\n'


# -- the views' data -------------------------------------------------------------------------------------------------
def reference_probs(trainer, prefix, temperature):
    """What sampling computes after BOS + prefix, the way Trainer.sample walks the cache."""
    keys, values = trainer.engine.new_cache()
    tokens = [trainer.tokenizer.BOS] + [trainer.tokenizer.uchars.index(c) for c in prefix]
    for pos, token in enumerate(tokens):
        probs = trainer.engine.next_token_probs(token, pos, keys, values, temperature)
    return probs


@pytest.mark.parametrize('engine', ENGINES)
@pytest.mark.parametrize('prefix, temperature', [('', 0.5), ('amel', 0.5), ('ber', 2.0), ('a' * 7, 0.01)])
def test_next_token_probabilities(engine, prefix, temperature):
    trainer = Trainer(small(), DOCS, engine)
    trainer.train(20)
    rng_before = trainer.rng.getstate()
    probs = trainer.next_token_probs(prefix, temperature)
    assert len(probs) == trainer.vocab_size and sum(probs) == pytest.approx(1)
    assert probs == reference_probs(trainer, prefix, temperature)
    assert trainer.rng.getstate() == rng_before  # no random generator
    assert trainer.next_token_probs(prefix) == trainer.next_token_probs(prefix, trainer.config.temperature)


def test_next_token_probabilities_agree_between_engines():
    a, b = Trainer(small(), DOCS, 'original'), Trainer(small(), DOCS, 'efficient')
    a.train(10), b.train(10)
    assert a.next_token_probs('fitz', 0.8) == b.next_token_probs('fitz', 0.8)


def test_the_temperature_sharpens_or_flattens_the_bars():
    trainer = Trainer(small(), DOCS, 'efficient')
    trainer.train(60)
    cold, warm = trainer.next_token_probs('', 0.1), trainer.next_token_probs('', 5.0)
    assert max(cold) > max(trainer.next_token_probs('', 1.0)) > max(warm)


VOCABULARY = ''.join(sorted(set(''.join(DOCS))))  # the letters of DOCS: no 'v'


@pytest.mark.parametrize('prefix, message', [
    ('amé', f"'é' is not in the vocabulary of this dataset ({VOCABULARY})"),
    ('Av?A', f"'A', 'v', '?' are not in the vocabulary of this dataset ({VOCABULARY})"),
    ('a' * 8, 'the prefix has 8 characters; with block size 8 the model predicts after at most 7'),
])
def test_next_token_refusals_say_why(prefix, message):
    trainer = Trainer(small(), DOCS)
    with pytest.raises(MicrogptError) as e:
        trainer.next_token_probs(prefix)
    assert str(e.value) == message


def test_attention_maps_of_a_word_the_page_shows():
    trainer = Trainer(small(), DOCS, 'efficient')
    trainer.train(10)
    maps = trainer.attention_maps('amelia')
    assert len(maps) == 1 and len(maps[0]) == 2  # n_layer, n_head
    assert [len(row) for row in maps[0][0]] == [1, 2, 3, 4, 5, 6, 7]  # BOS a m e l i a
    assert all(sum(row) == pytest.approx(1) for head in maps[0] for row in head)
    assert [len(row) for row in trainer.attention_maps('bartholomew')[0][1]] == list(range(1, 9))  # block 8
    with pytest.raises(MicrogptError, match="'Z' is not in the vocabulary"):
        trainer.attention_maps('Zed')


# -- with edited code (edits.py): the instruments use the edited engine, and its failures say where -----------------
def test_the_instruments_follow_edited_code():
    from microgpt.edits import CodeError, edited, original_sources
    sources = original_sources()
    sources['microgpt/model.py'] = sources['microgpt/model.py'].replace(
        'x = [xi.relu() for xi in x]', 'x = [xi.relu() ** 2 for xi in x]')
    plain, mine = Trainer(small(validation=True), DOCS), Trainer(small(validation=True), DOCS,
                                                                 code=edited(sources))
    plain.train(5), mine.train(5)
    assert mine.held_out == plain.held_out
    assert mine.validation_loss() != plain.validation_loss()  # the edit changes the model's answers
    assert mine.next_token_probs('am') != plain.next_token_probs('am')
    assert mine.attention_maps('amelia') != plain.attention_maps('amelia')
    broken = original_sources()
    broken['microgpt/model.py'] = broken['microgpt/model.py'].replace(
        '        return self._forward(tokens).data', '        return self._forward(tokens).data / undefined_name')
    trainer = Trainer(small(validation=True), DOCS, code=edited(broken))
    with pytest.raises(CodeError) as e:
        trainer.validation_loss()  # not taken for a loss of inf
    assert e.value.file == 'microgpt/model.py' and 'undefined_name' in e.value.message
