"""The size limits: what they refuse, what they admit, and the count of Values they rest on.

The memory each Value costs is measured by benchmarks/memory.py (not here); these tests check, cheaply and
natively, that limits.step_values() is exactly the number of Values a step builds, so that capping it caps
the step's memory; what each engine is refused where (the browser, natively), and, in the page, the messages
of what needs the original engine on a model too large for it.
"""
from dataclasses import replace

import pytest

from microgpt import Config, ConfigError, Trainer, autograd, count_params
from microgpt import config as config_module
from microgpt import limits
from microgpt.limits import MAX_STEP_VALUES, MAX_VOCAB, step_values
from microgpt.data import MAX_CHARS
from microgpt.state import from_json, to_json

import engine_cases
import reference as R
from test_page import presets  # noqa: F401  (a fixture: the page's presets and their vocabularies)


def documents(vocab_size, length):
    """One document of `length` characters using vocab_size - 1 distinct characters."""
    chars = [chr(0x100 + i) for i in range(vocab_size - 1)]
    return [''.join(chars[i % len(chars)] for i in range(max(length, len(chars))))]


class Counter:
    """Values created since reset(), and the most alive at once since then (above those alive at reset())."""

    def __init__(self):
        self.created = self.alive = self.peak = 0

    def reset(self):
        self.created, self.peak, self.base = 0, self.alive, self.alive

    @property
    def peak_alive(self):
        return self.peak - self.base


@pytest.fixture
def values(monkeypatch):
    counter = Counter()
    init = autograd.Value.__init__

    def counting_init(self, *args):
        counter.created += 1
        counter.alive += 1
        counter.peak = max(counter.peak, counter.alive)
        init(self, *args)

    def counting_del(self):
        counter.alive -= 1

    monkeypatch.setattr(autograd.Value, '__init__', counting_init)
    monkeypatch.setattr(autograd.Value, '__del__', counting_del, raising=False)
    return counter


# -- the count the caps rest on ------------------------------------------------------------------------------
SMALL = [  # (n_embd, n_head, n_layer, block_size, vocab_size): every term of step_values varied
    (8, 2, 1, 8, 27), (8, 2, 2, 8, 27), (16, 4, 1, 16, 27), (16, 4, 1, 32, 27), (32, 4, 1, 8, 27),
    (8, 2, 1, 8, 101), (16, 4, 2, 16, 60), (24, 8, 3, 12, 200), (8, 1, 1, 40, 10), (8, 8, 2, 6, 3),
]


@pytest.mark.parametrize('n_embd,n_head,n_layer,block_size,vocab_size', SMALL)
def test_step_values_is_the_count_of_values_a_full_step_builds_nearly_all_alive_at_once(values, n_embd, n_head, n_layer,
                                                                                 block_size, vocab_size):
    config = Config(n_embd=n_embd, n_head=n_head, n_layer=n_layer, block_size=block_size, num_steps=5)
    trainer = Trainer(config, documents(vocab_size, block_size + 3))
    assert trainer.vocab_size == vocab_size
    values.reset()
    trainer.step()
    count = step_values(config, vocab_size)
    assert values.created == count
    # and all alive at once for the backward pass, but the probabilities of the tokens that were not the target
    # (fewer than two Values a token at each position)
    assert count - 2 * vocab_size * block_size < values.peak_alive <= count
    assert values.alive == values.base  # and all freed after the step, by reference counting alone


def test_a_short_document_builds_fewer_values(values):
    """step_values is for a document that fills the block: the largest step."""
    config = Config(n_embd=8, n_head=2, block_size=16, num_steps=5)
    trainer = Trainer(config, documents(11, 10))  # 10 characters: 11 positions of the 16
    values.reset()
    trainer.step()
    assert values.created == step_values(replace(config, block_size=11), 11) < step_values(config, 11)


@pytest.mark.parametrize('vocab_size', [3, 30, 200])
def test_sampling_a_whole_block_keeps_fewer_values_alive_than_a_step(values, vocab_size):
    """Sampling keeps each position's graph alive through the key/value cache, but no backward pass and only
    one position's logits at a time."""
    config = Config(n_embd=16, n_head=4, n_layer=2, block_size=12, num_steps=5)
    trainer = Trainer(config, documents(vocab_size, 20))
    values.reset()
    keys, cache = trainer.engine.new_cache()
    for pos_id in range(config.block_size):
        trainer.engine.next_token_probs(pos_id % (vocab_size - 1), pos_id, keys, cache, 0.5)
    assert 0 < values.peak_alive < step_values(config, vocab_size)
    del keys, cache
    assert values.alive == values.base


def test_step_values_grows_with_each_setting():
    base = Config(n_embd=16, n_head=4, n_layer=2, block_size=16)
    for changes in (dict(n_embd=32), dict(n_head=8), dict(n_layer=3), dict(block_size=17)):
        assert step_values(replace(base, **changes), 27) > step_values(base, 27)
    assert step_values(base, 28) > step_values(base, 27)


# -- what the limits refuse, per engine and place (microgpt/limits.py) ----------------------------------------
OVER = [  # each refused for the original engine in the browser by the step cap at the largest vocabulary
    dict(n_embd=128, n_head=4, n_layer=1, block_size=25),  # the issue's n_embd 128 / block 25: 2.5-2.9 GB
    dict(n_embd=16, n_head=4, n_layer=8, block_size=128),  # the issue's 8 layers / block 128
    dict(n_embd=64, n_head=4, n_layer=6, block_size=16),  # the issue's n_embd 64 / 6 layers
    dict(n_embd=128, n_head=32, n_layer=1, block_size=16),
    dict(n_embd=64, n_head=8, n_layer=4, block_size=16),
    dict(n_embd=16, n_head=16, n_layer=1, block_size=128),  # more heads: more attention Values
]


def in_browser(config, engine, vocab_size):
    return limits.check(config, engine, vocab_size, browser=True)


@pytest.mark.parametrize('changes', OVER)
def test_the_original_engine_in_the_browser_is_held_to_its_value_cap_naming_block_size(changes):
    config = Config(**changes)
    assert config.validate() is config  # the settings themselves are within their bounds
    assert step_values(config, MAX_VOCAB) > MAX_STEP_VALUES
    with pytest.raises(ConfigError) as info:
        in_browser(config, 'original', MAX_VOCAB)
    err = info.value
    assert 'too large for the original engine in the browser' in err.rule
    assert f'{step_values(config, MAX_VOCAB):,}' in err.rule and f'{MAX_STEP_VALUES:,}' in err.rule
    # the block size it suggests is the longest admitted one; when none is, the largest embedding size
    block = limits.largest_block(config, 'original', MAX_VOCAB, browser=True)
    name = 'block_size' if block else 'n_embd'
    assert err.field == name
    assert 'or the efficient engine' in err.rule
    if f'use {name} ' not in err.rule:  # no smaller embedding fits these layers either
        assert 'use a smaller model or the efficient engine' in err.rule
        assert not limits.fits(replace(config, n_embd=config.n_head), 'original', MAX_VOCAB, browser=True)
        return
    suggested = int(err.rule.split(f'use {name} ')[1].split()[0])
    in_browser(replace(config, **{name: suggested}), 'original', MAX_VOCAB)
    with pytest.raises(ConfigError):
        in_browser(replace(config, **{name: suggested + (1 if block else config.n_head)}), 'original', MAX_VOCAB)
    in_browser(config, 'efficient', MAX_VOCAB)  # which runs it


def test_the_value_cap_is_computed_with_the_datasets_own_vocabulary():
    """n_embd 32 with 2 layers on names (27 tokens): a longer block fits than at the largest vocabulary a
    dataset may have."""
    config = Config(n_embd=32, n_head=4, n_layer=2, block_size=128)
    at_names = limits.largest_block(config, 'original', 27, browser=True)
    at_most = limits.largest_block(config, 'original', MAX_VOCAB, browser=True)
    assert 0 < at_most < at_names < 128
    in_browser(replace(config, block_size=at_names), 'original', 27)
    with pytest.raises(ConfigError) as info:
        in_browser(replace(config, block_size=at_names), 'original', MAX_VOCAB)
    assert f'use block_size {at_most} or less' in info.value.rule and f'vocabulary of {MAX_VOCAB}' in info.value.rule
    with pytest.raises(ConfigError) as info:
        in_browser(replace(config, block_size=at_names + 1), 'original', 27)
    assert f'use block_size {at_names} or less' in info.value.rule and 'vocabulary of 27' in info.value.rule


def test_the_original_engine_in_the_browser_is_held_to_a_graph_depth_its_stack_can_free():
    """n_embd 48 with 4 layers overflowed Chromium's stack when the step's graph was freed; 40 trained."""
    assert limits.graph_depth(Config(n_embd=40, n_head=4, n_layer=4), 27) <= limits.MAX_GRAPH_DEPTH
    config = Config(n_embd=48, n_head=4, n_layer=4)
    assert step_values(config, 27) <= MAX_STEP_VALUES < limits.graph_depth(config, 27) * 10_000
    with pytest.raises(ConfigError) as info:
        in_browser(config, 'original', 27)
    err = info.value
    assert err.field == 'n_embd' and f'{limits.graph_depth(config, 27):,} autograd values deep' in err.rule
    assert 'use n_embd 40 or less or the efficient engine' in err.rule
    limits.check(config, 'original', 27, browser=False)  # natively CPython frees it without recursing so deep


def test_a_model_too_large_for_any_block_names_the_embedding_size_that_fits():
    config = Config(n_embd=128, n_head=4, n_layer=8, block_size=64)
    with pytest.raises(ConfigError) as info:
        in_browser(config, 'original', 27)
    err = info.value
    assert err.field == 'n_embd' and f'{limits.layer_params(config):,} parameters in the layers' in err.rule
    embd = int(err.rule.split('use n_embd ')[1].split()[0])
    in_browser(replace(config, n_embd=embd), 'original', 27)
    with pytest.raises(ConfigError):
        in_browser(replace(config, n_embd=embd + 4), 'original', 27)


def test_the_efficient_engine_in_the_browser_runs_the_issues_size_and_is_held_to_a_steps_time():
    big = Config(n_embd=128, n_head=4, n_layer=8, block_size=64)
    for vocab_size in (27, MAX_VOCAB):
        in_browser(big, 'efficient', vocab_size)
        assert limits.efficient_bytes(big, vocab_size) <= limits.MAX_HEAP
    longest = Config(n_embd=128, n_head=4, n_layer=8, block_size=128)
    with pytest.raises(ConfigError) as info:
        in_browser(longest, 'efficient', 27)
    err = info.value
    assert err.field == 'block_size' and 'too large for the efficient engine in the browser' in err.rule
    assert f'limit {limits.MAX_STEP_SECONDS:,.0f} s' in err.rule and 'efficient engine' not in err.rule.split(';')[1]
    suggested = int(err.rule.split('use block_size ')[1].split()[0])
    assert 64 < suggested < 128
    in_browser(replace(longest, block_size=suggested), 'efficient', 27)
    with pytest.raises(ConfigError):
        in_browser(replace(longest, block_size=suggested + 1), 'efficient', 27)


def test_the_efficient_engines_memory_limit_refuses_what_would_not_fit(monkeypatch):
    config = Config(n_embd=128, n_head=4, n_layer=8, block_size=64)
    monkeypatch.setattr(limits, 'MAX_HEAP', limits.efficient_bytes(config, 27) - 1)
    with pytest.raises(ConfigError) as info:
        in_browser(config, 'efficient', 27)
    assert info.value.field == 'block_size' and 'MiB' in info.value.rule


NATIVE = [(changes, engine) for changes in OVER + [dict(n_embd=64, n_head=4, n_layer=4, block_size=16)]
          for engine in ('original', 'efficient')] + [(dict(n_embd=128, n_head=4, n_layer=8, block_size=128),
                                                        'efficient')]


@pytest.mark.parametrize('changes,engine', NATIVE)
def test_natively_neither_engine_is_held_to_the_browsers_limits(changes, engine):
    config = Config(**changes)
    assert not limits.in_browser()
    limits.check(config, engine, MAX_VOCAB)  # the place is found out: natively here
    limits.check(config, engine, MAX_VOCAB, browser=False)


def test_natively_the_original_engine_is_held_to_the_machines_memory(monkeypatch):
    config = Config(n_embd=128, n_head=4, n_layer=8, block_size=128)  # 442 million Values: about 124 GiB
    monkeypatch.setattr(limits, 'native_memory', lambda: 16 * 2**30)
    with pytest.raises(ConfigError) as info:
        limits.check(config, 'original', 27, browser=False)
    err = info.value
    assert err.field == 'block_size' and 'on this machine' in err.rule and 'the machine has 16.0 GiB' in err.rule
    suggested = int(err.rule.split('use block_size ')[1].split()[0])
    limits.check(replace(config, block_size=suggested), 'original', 27, browser=False)
    limits.check(config, 'efficient', 27, browser=False)
    monkeypatch.setattr(limits, 'native_memory', lambda: None)  # a platform that does not say: no guard
    limits.check(config, 'original', 27, browser=False)


def test_the_trainer_checks_the_engine_and_its_own_vocabulary(monkeypatch):
    """Documents given to Trainer directly are not limited to MAX_CHARS characters: the Trainer checks its own
    vocabulary, for its engine, and so does a state loaded with one."""
    monkeypatch.setattr(limits, 'in_browser', lambda: True)
    config = Config(n_embd=16, n_head=4, n_layer=1, block_size=128, num_steps=5)
    limits.check(config, 'original', MAX_VOCAB)  # at MAX_VOCAB it fits ...
    with pytest.raises(ConfigError) as info:  # ... at 150 more tokens it does not
        Trainer(config, documents(MAX_VOCAB + 150, 200))
    assert info.value.field == 'block_size' and f'vocabulary of {MAX_VOCAB + 150}' in info.value.rule
    efficient = Trainer(config, documents(MAX_VOCAB + 150, 200), engine='efficient')  # the efficient engine runs it
    with pytest.raises(ConfigError) as info:  # continuing it on the original engine is refused before building
        from_json(to_json(efficient), engine='original')
    assert info.value.field == 'block_size' and f'vocabulary of {MAX_VOCAB + 150}' in info.value.rule
    small = Trainer(replace(config, block_size=8), documents(MAX_VOCAB + 150, 200))
    state = to_json(small)  # made into a state with block_size 128 (the numbers do not matter)
    state['config']['block_size'] = 128
    state['weights']['wpe'] += [[0.0] * 16 for _ in range(120)]
    state['adam_m'] += [0.0] * (120 * 16)
    state['adam_v'] += [0.0] * (120 * 16)
    with pytest.raises(ConfigError) as info:
        from_json(state)
    assert info.value.field == 'block_size' and f'vocabulary of {MAX_VOCAB + 150}' in info.value.rule
    assert from_json(state, engine='efficient').engine_name == 'efficient'


def test_a_step_on_a_short_document_fits_where_a_full_block_would_not():
    config = Config(n_embd=32, n_head=4, n_layer=4, block_size=64)
    assert not limits.fits(config, 'original', 27, browser=True)
    block = limits.largest_block(config, 'original', 27, browser=True)
    assert 16 < block < 64
    assert limits.fits(config, 'original', 27, browser=True, positions=block)
    assert not limits.fits(config, 'original', 27, browser=True, positions=block + 1)


def test_the_vocabulary_bound_is_the_datasets():
    assert MAX_VOCAB == MAX_CHARS + 1


# -- what they admit ------------------------------------------------------------------------------------------
LARGEST = [  # as benchmarks/memory.py measures them: one more position is refused (original, in the browser)
    dict(n_embd=104, n_head=4, n_layer=1, block_size=11),
    dict(n_embd=16, n_head=4, n_layer=6, block_size=18),
    dict(n_embd=48, n_head=4, n_layer=2, block_size=24),
    dict(n_embd=16, n_head=4, n_layer=1, block_size=128),
]


@pytest.mark.parametrize('changes', LARGEST)
def test_the_largest_admitted_configs_pass(changes):
    config = Config(**changes)
    in_browser(config, 'original', MAX_VOCAB)
    if config.block_size < config_module.LIMITS['block_size']:
        with pytest.raises(ConfigError) as info:
            in_browser(replace(config, block_size=config.block_size + 1), 'original', MAX_VOCAB)
        assert info.value.field == 'block_size'


def test_the_benchmark_measures_the_same_configs():
    import sys
    sys.path.insert(0, str(R.ROOT / 'benchmarks'))
    import memory
    assert memory.LARGEST_ADMITTED == LARGEST
    for settings, vocab_size in memory.EFFICIENT_LARGEST:  # the efficient engine's largest in the page
        config = Config(**settings)
        in_browser(config, 'efficient', vocab_size)
        if config.block_size == limits.largest_block(replace(config, block_size=128), 'efficient', vocab_size,
                                                     browser=True):
            continue
        assert config.block_size == 64  # the issue's size


def test_the_default_and_the_tested_configs_are_admitted():
    Config().validate()
    for name in R.CASES:
        R.case_config(name).validate()
    for config, _docs in engine_cases.CONFIGS.values():
        config.validate()
    for engine in ('original', 'efficient'):
        in_browser(Config(), engine, MAX_VOCAB)


# -- in the page: each engine its own limit, and what needs the original engine says what fits ----------------
def test_the_page_says_what_fits_the_original_engine_and_keeps_the_model(browser, site_url, presets):
    """n_embd 32, 4 layers, block 64 on the names preset: the efficient engine trains it; switching to the
    original engine says which block fits and keeps the model; Verify compares the steps the original engine
    can run (names are short)."""
    from playwright.sync_api import expect
    from test_page import STEP_TIMEOUT, Page
    vocab_size = presets['names']['vocab_size']
    config = Config(n_embd=32, n_head=4, n_layer=4, block_size=64)
    block = limits.largest_block(config, 'original', vocab_size, browser=True)
    assert 16 < block < 64
    with pytest.raises(ConfigError) as info:
        in_browser(config, 'original', vocab_size)
    message = str(info.value)
    assert message.startswith('block_size: too large for the original engine in the browser: a training step '
                              f'would build {step_values(config, vocab_size):,} autograd values at a vocabulary of '
                              f'{vocab_size}') and f'use block_size {block} or less or the efficient engine' in message
    ui = Page(browser, site_url)
    engine = ui.page.get_by_label('Engine')
    ui.set('Layers', 4)
    ui.set('Embedding size', 32)
    ui.set('Block size', 64)  # the original engine (the default) cannot: said beside the setting
    expect(ui.page.locator('#err-block_size')).to_have_text(message, timeout=STEP_TIMEOUT)
    assert ui.button('Train').is_disabled()
    engine.select_option('efficient')  # the efficient engine builds it
    expect(ui.page.locator('#err-block_size')).to_have_text('', timeout=STEP_TIMEOUT)
    ui.fresh(50)
    ui.step(2)
    expect(ui.alert).to_have_text('')
    engine.select_option('original')  # refused, with what fits; the model stays on the efficient engine
    expect(ui.alert).to_have_text(message, timeout=STEP_TIMEOUT)
    expect(engine).to_have_value('efficient')
    ui.wait_status(2, 50)
    ui.step()
    ui.button('Verify').click()  # compares the next steps whose documents fit the original engine
    result = ui.page.locator('#verify-result')
    expect(result).to_contain_text('Identical', timeout=STEP_TIMEOUT * 4)
    expect(result).to_contain_text('The original engine cannot run a full block of this model in the browser: '
                                   f'compared the next 3 of 3 steps, whose documents are short enough for it '
                                   f'({block} positions at most).')
    ui.wait_status(3, 50)
    assert ui.dialogs == [] and ui.errors == []
    ui.close()


def test_the_efficient_engine_opens_and_trains_8_layers_of_128_with_block_64_in_the_page(browser, site_url, presets):
    """The issue's size: too large for the original engine at any block (Verify says it cannot), trained by the
    efficient engine."""
    from playwright.sync_api import expect
    from test_page import Page
    ui = Page(browser, site_url)
    ui.page.get_by_label('Engine').select_option('efficient')
    for label, value in (('Layers', 8), ('Embedding size', 128), ('Block size', 64)):
        ui.set(label, value)
    ui.fresh(10)
    expect(ui.page.locator('#params')).to_have_text(
        f'{count_params(Config(n_embd=128, n_layer=8, block_size=64), presets["names"]["vocab_size"]):,}')
    ui.wait_status(0, 10, timeout=180_000)
    ui.button('Step').click()
    ui.wait_status(1, 10, timeout=180_000)
    ui.button('Verify').click()
    expect(ui.alert).to_contain_text('Verify: n_embd: Verify cannot run the next step on the original engine: this '
                                     'model is too large for the original engine in the browser', timeout=60_000)
    ui.button('Step').click()
    ui.wait_status(2, 10, timeout=180_000)
    assert ui.errors == []
    ui.close()


def test_a_link_that_asks_for_the_original_engine_on_a_large_model_says_what_fits(browser, site_url, presets):
    from playwright.sync_api import expect
    page = browser.new_page()
    page.goto(site_url + '#n_embd=64&n_layer=4&engine=original')
    with pytest.raises(ConfigError) as info:
        in_browser(Config(n_embd=64, n_head=4, n_layer=4), 'original', presets['names']['vocab_size'])
    assert 'use n_embd 40 or less or the efficient engine' in info.value.rule
    expect(page.locator('#err-n_embd')).to_have_text(str(info.value), timeout=60_000)
    expect(page.get_by_role('alert')).to_contain_text(info.value.rule)
    page.get_by_label('Engine').select_option('efficient')  # the model the link describes, on the efficient engine
    expect(page.get_by_role('status')).to_contain_text('step 0 / 1000', timeout=60_000)
    expect(page.locator('#params')).to_have_text(
        f'{count_params(Config(n_embd=64, n_layer=4), presets["names"]["vocab_size"]):,}')
    page.close()
