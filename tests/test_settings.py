"""The settings are described once, in microgpt/config.py: the CLI's flags and the page's form come from there."""
import html.parser
import json
import re

import pytest

from microgpt import Config, ConfigError, limits
from microgpt.cli import build_parser
from microgpt.config import KEEPS_MODEL, SETTINGS, settings
from dataclasses import fields


class FormReader(html.parser.HTMLParser):
    """The inputs of the built page's settings form: id -> attributes."""

    def __init__(self):
        super().__init__()
        self.inputs, self.labels = {}, {}
        self._label_for = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'input' and 'data-setting' in attrs:
            self.inputs[attrs['id']] = attrs
        if tag == 'label':
            self._label_for = attrs.get('for')

    def handle_data(self, data):
        if self._label_for:
            self.labels[self._label_for] = self.labels.get(self._label_for, '') + data

    def handle_endtag(self, tag):
        if tag == 'label':
            self._label_for = None


def read_form(dist_dir):
    reader = FormReader()
    reader.feed((dist_dir / 'index.html').read_text(encoding='utf-8'))
    return reader


def test_every_config_field_has_a_description():
    assert [s.name for s in SETTINGS] == [f.name for f in fields(Config)]
    for s in SETTINGS:
        assert s.kind in (int, float, bool) and isinstance(s.default, s.kind), s
        assert s.label and s.help, s
        assert s.low <= s.default <= s.high, s


def test_a_field_without_a_description_is_an_error(monkeypatch):
    import dataclasses
    Extra = dataclasses.make_dataclass('Extra', [('dropout', float, dataclasses.field(default=0.0))], bases=(Config,))
    monkeypatch.setattr('microgpt.config.Config', Extra)
    with pytest.raises(TypeError, match='Config.dropout has no description'):
        settings()


def test_the_cli_has_a_flag_for_every_setting():
    parser = build_parser()
    actions = {a.dest: a for a in parser._actions}
    for s in SETTINGS:
        action = actions[s.name]
        assert s.cli_flag in action.option_strings
        if s.kind is bool:  # a flag without a value: given, it is on
            assert action.nargs == 0 and action.const is True and action.default is None
        else:
            assert action.type is s.kind
        assert s.help.replace('%', '%%') in action.help and str(s.default) in action.help
    args = parser.parse_args([arg for s in SETTINGS if s.kind is not bool for arg in (s.cli_flag, str(s.default))])
    given = {s.name: getattr(args, s.name) for s in SETTINGS if getattr(args, s.name) is not None}
    assert Config(**given).to_dict() == Config().to_dict()
    flags = parser.parse_args([s.cli_flag for s in SETTINGS if s.kind is bool])
    assert all(getattr(flags, s.name) is True for s in SETTINGS if s.kind is bool)


def test_the_page_has_a_field_for_every_setting(dist_dir):
    form = read_form(dist_dir)
    assert list(form.inputs) == [s.name for s in SETTINGS]
    for s in SETTINGS:
        attrs = form.inputs[s.name]
        assert form.labels[s.name] == s.label == attrs['data-label']
        if s.kind is bool:
            assert attrs['type'] == 'checkbox' and ('checked' in attrs) == s.default
        else:
            assert attrs['type'] == 'text' and s.kind(attrs['value']) == s.default
        assert attrs['aria-describedby'] == 'err-' + s.name


def test_a_boolean_setting_must_be_a_bool():
    with pytest.raises(ConfigError, match="validation: must be True or False, got 1"):
        Config(validation=1).validate()


def test_only_steps_and_temperature_keep_the_model():
    assert KEEPS_MODEL == {'num_steps', 'temperature'}


@pytest.mark.parametrize('name, text, value', [
    ('n_embd', '16', 16), ('n_embd', ' 1.6e1 ', 16), ('n_embd', '16.0', 16), ('num_steps', '1e12', 10**12),
    ('learning_rate', '0.01', 0.01), ('learning_rate', '1e-2', 0.01), ('seed', '7', 7),
    ('validation', 'True', True), ('validation', 'false', False), ('validation', ' TRUE ', True)])
def test_parse_reads_what_a_user_types(name, text, value):
    setting = {s.name: s for s in SETTINGS}[name]
    parsed = setting.parse(text)
    assert parsed == value and type(parsed) is setting.kind


@pytest.mark.parametrize('name, text, rule', [
    ('n_embd', '', "must be a whole number, got ''"), ('n_embd', '1.5', "must be a whole number, got '1.5'"),
    ('n_embd', 'inf', "must be a whole number, got 'inf'"), ('seed', 'x', "must be a whole number, got 'x'"),
    ('learning_rate', 'abc', "must be a number, got 'abc'"), ('validation', 'yes', "must be True or False, got 'yes'"),
    ('validation', '1', "must be True or False, got '1'")])
def test_parse_names_the_setting_and_the_text(name, text, rule):
    setting = {s.name: s for s in SETTINGS}[name]
    with pytest.raises(ConfigError) as e:
        setting.parse(text)
    assert e.value.field == name and e.value.rule == rule


@pytest.mark.parametrize('changes, fields_', [
    (dict(n_head=3), ('n_embd', 'n_head')), (dict(n_head=32), ('n_head', 'n_embd')),
    (dict(learning_rate=2.0), ('learning_rate',))])
def test_config_errors_say_every_setting_they_concern(changes, fields_):
    with pytest.raises(ConfigError) as e:
        Config(**changes).validate()
    assert e.value.fields == fields_ and e.value.field == fields_[0]


@pytest.mark.parametrize('changes, fields_', [
    (dict(n_embd=128, n_layer=8), ('n_embd', 'block_size', 'n_layer')),  # no block fits: the embedding size
    (dict(n_embd=32, n_layer=4, block_size=64), ('block_size', 'n_embd', 'n_layer'))])
def test_a_model_too_large_for_an_engine_names_what_to_change_and_every_size_setting(changes, fields_):
    config = Config(**changes).validate()  # within the settings' own bounds
    with pytest.raises(ConfigError) as e:
        limits.check(config, 'original', 27, browser=True)
    assert e.value.fields == fields_ and e.value.field == fields_[0]


def test_the_worker_is_given_every_package_file(dist_dir):
    text = (dist_dir / 'index.html').read_text(encoding='utf-8')
    match = re.search(r'<script type="py" worker name="trainer" src="./worker.py" config="([^"]*)"', text)
    config = json.loads(html.unescape(match.group(1)))
    package = sorted(p.name for p in (dist_dir.parent / 'microgpt').glob('*.py'))
    rows = sorted(p.name for p in (dist_dir.parent / 'web' / 'worker').glob('*.py') if p.name != 'worker.py')
    assert 'worker_rows.py' in rows and 'worker_session.py' in rows
    assert sorted(config['files']) == sorted([f'./py/microgpt/{name}' for name in package] + [f'./{name}' for name in rows])
    # the sandboxed worker is sent the same rows' files (web/js/sandbox.js reads this list)
    assert json.loads((dist_dir / 'py' / 'worker_rows.json').read_text()) == rows
    for url, path in config['files'].items():
        if url.removeprefix('./') in rows:  # the worker's rows, beside worker.py (the sandboxed worker runs them too)
            assert path == url and (dist_dir / url).read_bytes() == (dist_dir.parent / 'web' / 'worker' / url).read_bytes()
            continue
        assert path == './' + url.removeprefix('./py/')
        assert (dist_dir / url).read_bytes() == (dist_dir.parent / path).read_bytes()


@pytest.mark.parametrize('temperature', [1e-310, 5e-324, 0.009])
def test_temperatures_too_small_to_sample_with_are_refused(temperature):
    with pytest.raises(ConfigError, match=r'temperature: must be in \[0.01, 10\]'):
        Config(temperature=temperature).validate()


@pytest.mark.parametrize('engine', ['original', 'efficient'])
def test_sampling_at_the_lowest_temperature_works(engine):
    from microgpt import Trainer
    trainer = Trainer(Config(n_embd=8, n_head=2, block_size=8, num_steps=5), ['abc', 'bca', 'cab'], engine=engine)
    for _ in range(5):
        trainer.step()
    samples = trainer.sample(4, temperature=0.01)
    assert len(samples) == 4 and all(set(s) <= set('abc') for s in samples)


@pytest.mark.parametrize('text', ['NaN', 'nan', 'Infinity', '-inf', '1e400'])
def test_parse_refuses_non_finite_numbers_as_typed(text):
    setting = {s.name: s for s in SETTINGS}['learning_rate']
    with pytest.raises(ConfigError) as e:
        setting.parse(text)
    assert e.value.rule == f'must be a finite number, got {text!r}'
