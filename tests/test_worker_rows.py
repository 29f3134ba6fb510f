"""The worker's rows (web/worker/worker_rows.py and its modules) in plain CPython, no browser: check_link,
describe, the error keys, the answers' shapes. Both workers run these very functions (tests/test_settings.py
checks they are given every file); the page's side of each answer is tests/test_protocol.py's."""
import json
import sys

import pytest

import microgpt as mg
from conftest import ROOT
from microgpt.config import SETTINGS

sys.path.insert(0, str(ROOT / 'web' / 'worker'))
import protocol  # noqa: E402
import worker_rows as rows  # noqa: E402
import worker_session  # noqa: E402

WORDS = [f'{a}{b}{c}' for a in 'abcd' for b in 'aeio' for c in 'nrst'][:40]  # 40 short documents
SMALL = {'n_embd': '8', 'n_head': '2', 'n_layer': '1', 'block_size': '8', 'num_steps': '6'}


def settings(**changes):
    texts = {s.name: str(getattr(mg.Config(), s.name)) for s in SETTINGS}
    return json.dumps({**texts, **SMALL, **{k: str(v) for k, v in changes.items()}})


def answer(text):
    return json.loads(text.split('\n', 1)[0])


@pytest.fixture
def model():
    """A fresh worker session holding the 40 words and a small model of them."""
    worker_session.session.__init__()
    assert 'error' not in answer(rows.stage_bytes('\n'.join(WORDS).encode(), 'words.txt'))
    rows.adopt()
    assert 'error' not in answer(rows.reset(settings(), 'original'))
    yield worker_session.session


# -- check_link ---------------------------------------------------------------------------------------------------------
def test_check_link_keeps_what_applies_together_and_says_why_not_for_the_rest():
    r = answer(rows.check_link(json.dumps([['n_embd', '32'], ['colour', 'red'], ['seed', 'x'], ['n_head', '5']])))
    assert r['settings'] == {'n_embd': '32'}
    ignored = dict(r['ignored'])
    assert ignored['colour'] == 'is not a setting'
    assert 'seed' in ignored and ignored['seed'].startswith('must be')
    assert 'n_head' in ignored  # 32 is not divisible by 5: the link's later setting is the one dropped


def test_check_link_of_nothing_is_nothing():
    assert answer(rows.check_link('[]')) == {'settings': {}, 'ignored': []}


# -- describe -----------------------------------------------------------------------------------------------------------
def test_describe_counts_parameters_and_names_the_settings_that_need_a_new_model(model):
    r = answer(rows.describe(settings(n_embd=16, seed=7, num_steps=9), 'original'))
    vocab = len(set(''.join(WORDS))) + 1
    assert r['num_params'] == mg.count_params(mg.Config(n_embd=16, n_head=2, n_layer=1, block_size=8), vocab)
    assert sorted(r['changed']) == ['n_embd', 'seed'] and r['truncated'] == 0 and r['block_size'] == 8


def test_describe_refuses_a_setting_with_its_field_and_rule(model):
    r = answer(rows.describe(settings(n_head=3), 'original'))
    assert r['field'] in ('n_head', 'n_embd') and 'n_head' in r['fields'] and r['rule']
    assert set(r) == set(protocol.ERROR) and r['model_only'] is False


def test_fewer_steps_than_trained_objects_only_to_the_model(model):
    answer(rows.train(4, 60000))
    r = answer(rows.describe(settings(num_steps=2), 'original'))
    assert r['model_only'] is True and r['field'] == 'num_steps' and set(r) == set(protocol.ERROR)


# -- the answers' shapes --------------------------------------------------------------------------------------------------
def test_a_model_answer_has_the_model_keys_and_the_split_of_a_validation_run():
    worker_session.session.__init__()
    rows.stage_bytes('\n'.join(WORDS).encode(), 'words.txt')
    rows.adopt()
    r = answer(rows.reset(settings(validation=True), 'original'))
    assert set(r) == set(protocol.MODEL)
    assert r['split'] == {'every': 100, 'sample': 4} and r['vocab_size'] == len(set(''.join(WORDS))) + 1
    t = answer(rows.train(2, 60000))
    assert set(t) == set(protocol.BATCH) and len(t['losses']) == 2 and t['step'] == 2
    assert [step for step, _ in t['validation_losses']] == [0]  # step 0's; the next is due at step 100


def test_train_answers_its_losses_and_no_validation_without_the_setting(model):
    r = answer(rows.train(3, 60000))
    assert r['split'] is None and r['validation_losses'] == [] and len(r['losses']) == 3
    assert r['losses'] == [float(row.split(',')[1]) for row in answer(rows.log_csv())['csv'].splitlines()[1:]]


def test_the_views_answer_about_the_current_model(model):
    r = answer(rows.attention('ban'))
    assert r['tokens'] == ['BOS', 'b', 'a', 'n'] and 'word' not in r and r['truncated'] is False
    assert len(r['maps']) == 1 and len(r['maps'][0]) == 2
    n = answer(rows.next_token('ba', '1'))
    assert [label for label, _ in n['probs']][-1] == 'end' and sum(p for _, p in n['probs']) == pytest.approx(1)


@pytest.mark.parametrize('row, args', [('import_bytes', (b'\xff\xfe', 'x.json', '')),
                                       ('import_bytes', (b'{}', 'x.json', 'load')),
                                       ('code_train', ('{}', '{}'))])
def test_failures_without_a_setting_have_the_error_keys_too(model, row, args, monkeypatch):
    monkeypatch.setattr(worker_session, 'CODE_RUNS_HERE', False)  # as in the page's own worker
    r = answer(getattr(rows, row)(*args))
    assert set(r) == set(protocol.ERROR) and r['field'] is None and r['fields'] == [] and r['error']


def test_no_model_to_save_is_an_error_with_its_keys():
    worker_session.session.__init__()
    r = answer(rows.export_state())
    assert r['error'] == 'there is no model to save' and set(r) == set(protocol.ERROR)


def test_a_saved_run_comes_back_with_its_losses_from_its_first_logged_step(model):
    answer(rows.train(3, 60000))
    saved = rows.export_state()
    head, text = saved.split('\n', 1)
    assert set(json.loads(head)) == set(protocol.MODEL)
    r = rows.import_bytes(text.encode(), 'run.json', '')
    head, losses = r.split('\n', 1)
    head = json.loads(head)
    assert head['first_logged'] == 1 and head['step'] == 3 and len(json.loads(losses)) == 3
    assert head['last_loss'] == json.loads(losses)[-1] and head['dataset']['documents'] == len(WORDS)
