"""Step through gpt() (microgpt/tracing.py, Trainer.step_through): the real function's lines, honest numbers.

Natively: the recorded logits and probabilities are the engine's own, bit for bit; the recorded attention weights
are the Attention view's; nothing of the run changes; edited code and the efficient engine; large models are
limited, not slow; gpt() is the gist's function again (no argument for the views)."""
import inspect
import random
import sys

import pytest

import microgpt as mg
from microgpt import edits, model, tracing

DOCS = ['emma', 'olivia', 'ava', 'isabella', 'sophia', 'mia', 'amelia', 'harper', 'evelyn', 'abigail',
        'emily', 'ella', 'elizabeth', 'camila', 'luna', 'sofia', 'avery', 'mila', 'aria', 'scarlett']


def trained(steps=30, engine='original', code=None, **settings):
    trainer = mg.Trainer(mg.Config(num_steps=200, **settings), DOCS, engine=engine, code=code)
    for _ in range(steps):
        trainer.step()
    return trainer


def lines_of(function):
    source, first = inspect.getsourcelines(function)
    return {first + i: text.strip() for i, text in enumerate(source)}


def recorded(trace, name):
    """Every value recorded for a variable, in order."""
    return [v for step in trace['steps'] for v in step['changed'] if v['name'] == name]


def test_logits_and_probs_are_the_engines_own_bit_for_bit():
    t = trained()
    for prefix in ('', 'em', 'isabel'):
        trace = t.step_through(prefix, len(prefix))
        assert trace['probs'] == t.next_token_probs(prefix)  # the Next character view's numbers
        keys, values = t.engine.new_cache()
        tokens = t.tokenizer.encode(prefix)[:-1]
        for pos_id, token_id in enumerate(tokens):
            logits = model.gpt(token_id, pos_id, keys, values, t.engine.state_dict, 1, 4)
        assert trace['logits'] == [logit.data for logit in logits]
        assert recorded(trace, 'logits')[-1]['data'] == trace['logits']


def test_attention_weights_are_the_attention_views():
    t = trained(n_layer=2)
    word = 'sophia'
    maps = t.attention_maps(word)
    for position in (0, 3, 6):
        shown = recorded(t.step_through(word, position), 'attn_weights')
        assert len(shown) == 2 * 4  # one per layer and head, in that order
        assert [v['data'] for v in shown] == [maps[li][h][position] for li in range(2) for h in range(4)]


def test_every_line_is_a_line_of_gpt_and_a_comprehension_is_one_step():
    t = trained(steps=2, n_layer=2)
    trace = t.step_through('ava', 2)
    source = lines_of(model.gpt)
    assert trace['first_line'] == min(source)
    assert all(step['line'] in source for step in trace['steps'])
    texts = [source[step['line']] for step in trace['steps']]
    assert texts[0].startswith('def gpt(')  # the call, with its arguments
    assert {v['name'] for v in trace['steps'][0]['changed']} >= {'token_id', 'pos_id', 'keys', 'values'}
    assert texts.count('x = [t + p for t, p in zip(tok_emb, pos_emb)]  # joint token and position embedding') == 1
    assert texts.count('x = [xi.relu() for xi in x]') == 2  # once per layer, not once per element
    assert texts.count('attn_weights = softmax(attn_logits)') == 2 * 4  # loops over layers and heads are steps
    assert texts[-1] == "logits = linear(x, state_dict['lm_head'])" or texts[-1] == 'return logits'
    blocks = [texts[i] for i in trace['blocks']]  # Run to next block stops at loops and commented blocks
    assert blocks.count('for li in range(n_layer):') == 2 and blocks.count('for h in range(n_head):') == 2 * 4
    assert blocks.count('x_residual = x') == 2 * 2 and blocks[0] == 'for li in range(n_layer):'
    relu = [v for step in trace['steps'] if source[step['line']] == 'x = [xi.relu() for xi in x]'
            for v in step['changed']]
    assert relu[0]['name'] == 'x' and relu[0]['kind'] == 'vector' and relu[0]['shape'] == [64]
    assert all(x >= 0 for x in relu[0]['data'])
    keys = recorded(trace, 'keys')
    assert keys[0]['kind'] == 'grids' and keys[0]['shape'] == [2, 2, 16]  # positions 0 and 1 cached
    assert keys[-1]['shape'] == [2, 3, 16]  # this position's k appended (layer 2's; shape of layer 1)


def test_nothing_of_the_run_changes():
    t, twin = trained(steps=5), trained(steps=5)
    rng = t.rng.getstate()
    global_rng = random.getstate()
    t.step_through('mia', 3)
    assert t.rng.getstate() == rng and random.getstate() == global_rng
    assert sys.gettrace() is None
    assert [t.step().loss for _ in range(5)] == [twin.step().loss for _ in range(5)]


def test_the_efficient_engine_steps_through_the_original_gpt_with_its_weights():
    efficient, original = trained(engine='efficient'), trained(engine='original')
    a, b = efficient.step_through('luna', 4), original.step_through('luna', 4)
    assert a['engine'] == 'efficient' and b['engine'] == 'original'
    assert a['logits'] == b['logits'] and a['steps'] == b['steps']
    assert a['probs'] == efficient.next_token_probs('luna')


def test_edited_code_steps_through_its_own_gpt():
    sources = edits.original_sources()
    sources['microgpt/model.py'] = sources['microgpt/model.py'].replace(
        'x = [xi.relu() for xi in x]', 'x = [xi.relu() ** 2 for xi in x]  # squared')
    code = edits.edited(sources)
    t = trained(steps=3, code=code)
    trace = t.step_through('ella', 2)
    assert trace['edited'] is True
    lines = code.sources['microgpt/model.py'].splitlines()  # the edited file's own lines
    texts = [lines[step['line'] - 1].strip() for step in trace['steps']]
    assert 'x = [xi.relu() ** 2 for xi in x]  # squared' in texts
    assert trace['probs'] == t.next_token_probs('el')


def test_edited_code_that_fails_while_stepped_through_names_its_line():
    sources = edits.original_sources()
    sources['microgpt/model.py'] = sources['microgpt/model.py'].replace(
        'x = [xi.relu() for xi in x]', 'x = [xi.relu() for xi in x] if pos_id < 3 else nope')
    t = mg.Trainer(mg.Config(num_steps=10), DOCS, code=edits.edited(sources))  # untrained: step 1 would fail
    assert len(t.step_through('avery', 2)['steps']) > 10  # positions 0 to 2 run
    with pytest.raises(edits.CodeError) as caught:
        t.step_through('avery', 3)
    assert caught.value.file == 'microgpt/model.py' and "name 'nope' is not defined" in caught.value.message
    assert sources['microgpt/model.py'].splitlines()[caught.value.line - 1].strip().endswith('else nope')
    assert sys.gettrace() is None


@pytest.mark.parametrize('prefix, position, message', [
    ('ava', 4, 'position must be between 0 and 3'),
    ('ava', -1, 'position must be between 0 and 3'),
    ('a!', 0, "'!' is not in the vocabulary"),
])
def test_a_position_or_prefix_that_cannot_be_stepped_through_is_a_clear_error(prefix, position, message):
    t = trained(steps=1)
    with pytest.raises(mg.MicrogptError, match=message.replace('(', r'\(')):
        t.step_through(prefix, position)


def test_a_long_prefix_is_limited_by_the_block_size():
    t = trained(steps=1, block_size=4)
    with pytest.raises(mg.MicrogptError, match='between 0 and 3 .*that fits the block size'):
        t.step_through('isabella', 5)
    assert t.step_through('isabella', 3)['token'] == 'a'


def test_a_large_model_is_limited_not_slow(monkeypatch):
    monkeypatch.setattr(tracing, 'MAX_NUMBERS', 500)
    monkeypatch.setattr(tracing, 'MAX_STEPS', 40)
    t = trained(steps=0, n_embd=32, n_layer=3)
    trace = t.step_through('abigail', 6)
    assert len(trace['steps']) == 40 and trace['steps_left_out'] > 0
    assert trace['numbers_left_out']
    omitted = [v for step in trace['steps'] for v in step['changed'] if 'omitted' in v]
    assert omitted and all('data' not in v and v['omitted'] == tracing.numbers_in(v['shape']) for v in omitted)
    assert trace['probs'] == t.next_token_probs('abigai')  # the pass itself is whole


def test_gpt_is_the_gists_function_again():
    """No argument for the views: the Attention view and Step through read gpt() from outside."""
    assert list(inspect.signature(model.gpt).parameters) == [
        'token_id', 'pos_id', 'keys', 'values', 'state_dict', 'n_layer', 'n_head']
    assert 'attention' not in inspect.getsource(model.gpt).replace('# 1) Multi-head attention block', '')
