"""The settings that keep the model (microgpt/config.py's keeps_model: Steps, Temperature): one function applies
them to a trained model (Trainer.keep_settings), for the CLI's --load and for the page's worker row
(web/worker/worker_rows.py keep_settings); what they become is in the saved state."""
import json
import sys

import pytest

from microgpt import Config, ConfigError, Trainer, state
from microgpt.config import KEEPS_MODEL, SETTINGS

from conftest import ROOT
import reference as R

sys.path.insert(0, str(ROOT / 'web' / 'worker'))
import worker_rows  # noqa: E402  (free of js and pyscript: CPython imports it)

SMALL = Config(n_embd=8, n_head=2, n_layer=1, block_size=8, num_steps=6, seed=4, temperature=0.6)
WORDS = ['emma', 'olivia', 'ava', 'isabella', 'sophia', 'mia']


def test_the_settings_that_keep_the_model_are_the_descriptions():
    assert KEEPS_MODEL == {'num_steps', 'temperature'}
    assert KEEPS_MODEL == {s.name for s in SETTINGS if s.keeps_model}


def test_keep_settings_changes_the_config_not_the_model():
    t = Trainer(SMALL, WORDS)
    t.train(3)
    weights = t.engine.weights()
    t.keep_settings(num_steps=9, temperature=0.9)
    assert t.config == SMALL.replace(num_steps=9, temperature=0.9)
    assert t.engine.weights() == weights and t.step_count == 3
    assert t.engine.config == SMALL  # the engine was not told
    assert state.to_json(t)['config']['temperature'] == 0.9


def test_check_kept_settings_changes_nothing_and_refuses_what_needs_a_new_model():
    t = Trainer(SMALL, WORDS)
    t.train(3)
    assert t.check_kept_settings(num_steps=50) == SMALL.replace(num_steps=50)
    assert t.check_kept_settings(num_steps=3, temperature=2.0) == SMALL.replace(num_steps=3, temperature=2.0)
    for bad, field, words in [(dict(num_steps=2), 'num_steps', 'at least the 3 steps'),
                              (dict(num_steps=0), 'num_steps', 'between 1'),
                              (dict(num_steps=2.5), 'num_steps', 'whole number'),
                              (dict(temperature=0.001), 'temperature', r'must be in \[0.01, 10\]'),
                              (dict(n_layer=2), 'n_layer', 'needs a new model')]:
        with pytest.raises(ConfigError, match=words) as info:
            t.check_kept_settings(**bad)
        assert info.value.field == field
        with pytest.raises(ConfigError, match=words):
            t.keep_settings(**bad)  # the same check
    assert t.config == SMALL


def test_the_cli_saves_the_temperature_given_with_load(tmp_path):
    (tmp_path / 'words.txt').write_text('\n'.join(WORDS) + '\n')
    flags = R.cli_flags(SMALL.to_dict())
    out = R.run_cli('--input', tmp_path / 'words.txt', *flags, '--stop-at', 2, '--samples', 0,
                    '--save', tmp_path / 'a.json')
    assert out.returncode == 0, out.stderr
    out = R.run_cli('--load', tmp_path / 'a.json', '--temperature', 0.9, '--steps', 7, '--stop-at', 2,
                    '--samples', 0, '--save', tmp_path / 'b.json')
    assert out.returncode == 0, out.stderr
    config = json.loads((tmp_path / 'b.json').read_text())['config']
    assert (config['temperature'], config['num_steps']) == (0.9, 7)


def typed(config):
    return json.dumps({name: repr(value) for name, value in config.to_dict().items()})


def test_the_worker_row_applies_the_typed_settings_to_the_model_and_its_saved_state():
    worker_rows.session.__init__()  # a fresh worker (other tests run the rows in this process too)
    worker_rows.session.docs, worker_rows.session.source = list(WORDS), 'words'
    assert 'error' not in json.loads(worker_rows.reset(typed(SMALL), 'original'))
    json.loads(worker_rows.train(2, 60_000))
    info = json.loads(worker_rows.keep_settings(typed(SMALL.replace(temperature=0.9, num_steps=8))))
    assert (info['generation'], info['step'], info['num_steps'], info['config']['temperature']) == (1, 2, 8, 0.9)
    saved = json.loads(worker_rows.export_state().split('\n', 1)[1])
    assert (saved['config']['temperature'], saved['config']['num_steps']) == (0.9, 8)
    refused = json.loads(worker_rows.keep_settings(typed(SMALL.replace(num_steps=1))))
    assert refused['field'] == 'num_steps' and refused['model_only'] is True
    assert json.loads(worker_rows.export_state().split('\n', 1)[0])['config']['num_steps'] == 8  # kept
