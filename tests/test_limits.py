"""The size limits: what they refuse, what they admit, and the count of Values they rest on.

The memory each Value costs is measured by benchmarks/memory.py (not here); these tests check, cheaply and
natively, that config.step_values() is exactly the number of Values a step builds, so that capping it caps
the step's memory.
"""
from dataclasses import replace

import pytest

from microgpt import Config, ConfigError, Trainer, autograd
from microgpt import config as config_module
from microgpt.config import MAX_STEP_VALUES, MAX_VOCAB, check_size, step_values
from microgpt.data import MAX_CHARS

import engine_cases
import reference as R


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


# -- what the caps refuse -------------------------------------------------------------------------------------
OVER = [  # each refused by the step cap at the largest vocabulary (their layers alone are within MAX_LAYER_PARAMS)
    dict(n_embd=128, n_head=4, n_layer=1, block_size=25),  # the issue's n_embd 128 / block 25: 2.5-2.9 GB
    dict(n_embd=16, n_head=4, n_layer=8, block_size=128),  # the issue's 8 layers / block 128
    dict(n_embd=64, n_head=4, n_layer=6, block_size=16),  # the issue's n_embd 64 / 6 layers
    dict(n_embd=128, n_head=32, n_layer=1, block_size=16),
    dict(n_embd=64, n_head=8, n_layer=4, block_size=16),
    dict(n_embd=16, n_head=16, n_layer=1, block_size=128),  # more heads: more attention Values
]


@pytest.mark.parametrize('changes', OVER)
def test_configs_over_the_cap_are_refused_naming_block_size(changes):
    config = Config(**changes)
    assert step_values(config, MAX_VOCAB) > MAX_STEP_VALUES
    with pytest.raises(ConfigError) as info:
        config.validate()
    err = info.value
    assert err.field == 'block_size'
    assert 'too long for this model size' in err.rule
    assert f'{step_values(config, MAX_VOCAB):,}' in err.rule and f'{MAX_STEP_VALUES:,}' in err.rule
    # the block size it suggests is the longest admitted one
    suggested = int(err.rule.split('use block_size ')[1].split()[0])
    assert replace(config, block_size=suggested).validate()
    with pytest.raises(ConfigError):
        replace(config, block_size=suggested + 1).validate()
    with pytest.raises(ConfigError) as info2:  # from_dict (the page, the CLI, a state) refuses it the same way
        Config.from_dict(changes)
    assert str(info2.value) == str(err)


def test_a_larger_vocabulary_than_a_dataset_may_have_is_checked_by_the_trainer():
    """Documents given to Trainer directly are not limited to MAX_CHARS characters: the Trainer checks its own
    vocabulary, and so does a state loaded with one."""
    config = Config(n_embd=16, n_head=4, n_layer=1, block_size=128, num_steps=5)
    assert config.validate()  # at MAX_VOCAB it fits ...
    with pytest.raises(ConfigError) as info:  # ... at 150 more tokens it does not
        Trainer(config, documents(MAX_VOCAB + 150, 200))
    assert info.value.field == 'block_size' and f'vocabulary of {MAX_VOCAB + 150}' in info.value.rule
    small = Trainer(replace(config, block_size=8), documents(MAX_VOCAB + 150, 200))
    state = small.export_state()  # made into a state with block_size 128 (the numbers do not matter)
    state['config']['block_size'] = 128
    state['weights']['wpe'] += [[0.0] * 16 for _ in range(120)]
    state['adam_m'] += [0.0] * (120 * 16)
    state['adam_v'] += [0.0] * (120 * 16)
    with pytest.raises(ConfigError) as info:
        Trainer.from_state(state)
    assert info.value.field == 'block_size' and f'vocabulary of {MAX_VOCAB + 150}' in info.value.rule


def test_check_size_uses_the_vocabulary_it_is_given():
    config = Config(n_embd=16, n_head=4, n_layer=1, block_size=128)
    check_size(config, 27)
    check_size(config, MAX_VOCAB)
    with pytest.raises(ConfigError):
        check_size(config, MAX_VOCAB + 100)


def test_the_vocabulary_bound_is_the_datasets():
    assert MAX_VOCAB == MAX_CHARS + 1


def test_the_issues_configs_were_not_refused_by_the_layer_cap():
    """The step cap refuses them, not MAX_LAYER_PARAMS: each is within the old limits."""
    for changes in OVER[:3]:
        c = Config(**changes)
        assert c.block_size * c.n_embd + c.n_layer * 12 * c.n_embd ** 2 <= config_module.MAX_LAYER_PARAMS


# -- what they admit ------------------------------------------------------------------------------------------
LARGEST = [  # as benchmarks/memory.py measures them: one more position is refused
    dict(n_embd=128, n_head=4, n_layer=1, block_size=7),
    dict(n_embd=16, n_head=4, n_layer=8, block_size=46),
    dict(n_embd=64, n_head=4, n_layer=6, block_size=6),
    dict(n_embd=16, n_head=4, n_layer=1, block_size=128),
]


@pytest.mark.parametrize('changes', LARGEST)
def test_the_largest_admitted_configs_pass(changes):
    config = Config(**changes)
    assert config.validate() is config
    if config.block_size < config_module.LIMITS['block_size']:
        with pytest.raises(ConfigError) as info:
            replace(config, block_size=config.block_size + 1).validate()
        assert info.value.field == 'block_size'


def test_the_benchmark_measures_the_same_configs():
    import sys
    sys.path.insert(0, str(R.ROOT / 'benchmarks'))
    import memory
    assert memory.LARGEST_ADMITTED == LARGEST


def test_the_default_and_the_tested_configs_are_admitted():
    Config().validate()
    for name in R.CASES:
        R.case_config(name).validate()
    for config, _docs in engine_cases.CONFIGS.values():
        config.validate()
