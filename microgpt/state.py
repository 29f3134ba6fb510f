"""The saved state of a run: one versioned JSON format for the CLI's --save and --load and the page's
export and import. Continuing from it gives exactly the uninterrupted run (same losses, weights, samples).

Version 1, a JSON object:
  format    "microgpt-state"
  version   1
  engine    the engine that wrote it ("original" or "efficient"); any engine can continue it
  config    every Config setting (config.to_dict()); `validation` only when true (a file of a run without it
            stays readable by the versions before it: a missing setting has its default)
  uchars    the vocabulary: the sorted distinct characters of the documents, as one string
  docs      the documents in training order (already shuffled); with `validation` the held-out tenth last
  step      the steps done, 0 .. num_steps
  weights   {name: rows of floats}, the names and shapes of model.weight_shapes, in that order
  adam_m    Adam's first moments, one float per parameter (the weights flattened row after row)
  adam_v    Adam's second moments, likewise
  rng       the run's random generator: [version, its 625 internal numbers, gauss_next]
  log       optional: the training log so far, one CSV row per step done (format_log_row's text, the rows
            `--log` writes under its header), so a continued run's log is the whole run's. A file without it
            (written before it existed, or by a run that did not keep the log) loads with trainer.log None.
            Readers of version 1 that predate it ignore it, so it needs no new version.
  code      optional: {path: text} of the engine's files the run was edited with (edits.py: the changed
            ones of microgpt/autograd.py and microgpt/model.py); the run continues with that code. Absent
            for the shipped code. (Readers that predate it would continue with the shipped code instead.)

Anything else (another format, another version, a damaged or inconsistent file) raises StateError with
a message that says what is wrong.
"""
import json
import random

from . import limits
from .config import Config
from .data import Tokenizer
from .edits import CodeError, edited
from .errors import ConfigError, StateError
from .model import weight_shapes

FORMAT = 'microgpt-state'
VERSION = 1


def to_json(trainer, log=None):
    """The whole run as plain JSON-able data; with `log` (one row per step done) the training log too."""
    version, internal, gauss_next = trainer.rng.getstate()
    m, v = trainer.engine.adam_state()
    data = {
        'format': FORMAT,
        'version': VERSION,
        'engine': trainer.engine.name,
        'config': _config_dict(trainer.config),
        'uchars': ''.join(trainer.tokenizer.uchars),
        'docs': list(trainer.docs) + list(trainer.held_out),  # in training order (already shuffled)
        'step': trainer.step_count,
        'weights': trainer.engine.weights(),
        'adam_m': m,
        'adam_v': v,
        'rng': [version, list(internal), gauss_next],
    }
    if log is not None:
        data['log'] = list(log)
    if trainer.code is not None:
        data['code'] = {path: trainer.code.sources[path] for path in trainer.code.changed}
    return data


def _config_dict(config):
    values = config.to_dict()
    if not values['validation']:
        del values['validation']
    return values


def from_json(data, engine=None):
    """Rebuild a run (a Trainer) from to_json()'s data, with the given engine or else the one that saved it."""
    from .trainer import ENGINE_NAMES, Trainer, engine_class
    if not isinstance(data, dict) or data.get('format') != FORMAT:
        raise StateError(f'not a microgpt state (no "format": "{FORMAT}")')
    file_version = data.get('version')
    if isinstance(file_version, int) and not isinstance(file_version, bool) and file_version > VERSION:
        raise StateError(f'unsupported state version {file_version}: the file is from a newer microgpt '
                         f'(this one reads version {VERSION})')
    if file_version != VERSION:
        raise StateError(f'unsupported state version {file_version!r} (expected {VERSION})')
    try:
        config = Config.from_dict(data['config'])
        docs = [str(d) for d in data['docs']]
        tokenizer = Tokenizer(data['uchars'])
        if not docs:
            raise StateError('the state has no documents')
        if sorted(set(''.join(docs))) != tokenizer.uchars:
            raise StateError('the documents do not match the vocabulary')
        code = _code(data.get('code'))
        shapes = _shapes(code, config, tokenizer.vocab_size)
        weights = _weights(data['weights'], shapes)
        n = sum(rows * cols for rows, cols in shapes.values())
        m = [_number(x) for x in data['adam_m']]
        v = [_number(x) for x in data['adam_v']]
        if len(m) != n or len(v) != n:
            raise StateError(f'the Adam buffers should have {n} numbers each')
        step = data['step']
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= config.num_steps:
            raise StateError(f'step must be between 0 and num_steps, got {step!r}')
        version, internal, gauss_next = data['rng']
        rng = random.Random()
        rng.setstate((version, tuple(internal), gauss_next))
        log = _log(data.get('log'), step)
    except (StateError, CodeError):
        raise
    except ConfigError as e:
        raise StateError(f'invalid config in state: {e}') from None
    except (KeyError, TypeError, ValueError) as e:
        raise StateError(f'damaged state ({type(e).__name__}: {e})') from None
    saved_engine = data.get('engine') or 'original'
    if engine is None and saved_engine not in ENGINE_NAMES:
        raise StateError(f'unknown engine {saved_engine!r} in state (known: {", ".join(ENGINE_NAMES)})')
    cls = engine_class(engine or saved_engine, code)
    limits.check(config, engine or saved_engine, tokenizer.vocab_size)  # before building the model
    if code is None:
        model = cls(config, weights)
        model.load_adam_state(m, v)
    else:
        model = code.run(cls, config, weights)
        code.run(model.load_adam_state, m, v)
    trainer = Trainer.resume(config, docs, tokenizer, rng, model, step, code)
    trainer.log = log
    return trainer


def _log(log, step):
    """The saved log's rows, checked: one 'step,loss,learning_rate' row per step done, in order."""
    if log is None:
        return None
    if not isinstance(log, list) or len(log) != step:
        raise StateError(f'the log should have one row per step done ({step}), '
                         f'has {len(log) if isinstance(log, list) else repr(log)}')
    for i, row in enumerate(log, 1):
        parts = row.split(',') if isinstance(row, str) else ()
        if len(parts) != 3 or parts[0] != str(i):
            raise StateError(f'log row {i} is damaged: {row!r}')
        float(parts[1]), float(parts[2])  # ValueError: damaged
    return list(log)


def _code(files):
    """The saved edited code (EditedCode; a CodeError if it does not compile), or None for the shipped code."""
    if files is None:
        return None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(t, str) for k, t in files.items()):
        raise StateError('the code should be {path: text}')
    return edited(files)


def _shapes(code, config, vocab_size):
    """The weights' names and shapes: model.weight_shapes, or for edited code what its init_weights makes
    (an edit may add a weight; a generator of its own leaves the run's untouched)."""
    if code is None:
        return weight_shapes(config, vocab_size)
    weights = code.run(code.model.init_weights, config, vocab_size, random.Random(0))
    return {name: (len(mat), len(mat[0]) if mat else 0) for name, mat in weights.items()}


def _weights(weights, shapes):
    """The saved weights as floats, checked against the shapes the config gives."""
    if not isinstance(weights, dict) or list(weights) != list(shapes):
        raise StateError('the weights do not match the config')
    checked = {}
    for name, (rows, cols) in shapes.items():
        mat = weights[name]
        if len(mat) != rows or any(len(row) != cols for row in mat):
            raise StateError(f'weights {name} should be {rows}x{cols}')
        checked[name] = [[_number(x) for x in row] for row in mat]
    return checked


def _number(x):
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise StateError(f'expected a number, got {x!r}')
    return float(x)


def dumps(trainer, log=None):
    """The state as JSON text."""
    return json.dumps(to_json(trainer, log))


def loads(text, engine=None, source='the state'):
    """A run from JSON text; text that is not JSON is a StateError naming `source`."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise StateError(f'{source}: not a JSON state ({e})') from None
    return from_json(data, engine)


def save(trainer, path, log=None):
    """Write the state to a file (UTF-8 JSON)."""
    with open(path, 'w', encoding='utf-8') as f:
        f.write(dumps(trainer, log))


def load(path, engine=None):
    """A run from a file written by save(); an unreadable file is a StateError naming it."""
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except OSError as e:
        raise StateError(f'{path}: cannot be read ({e.strerror})') from None
    except ValueError as e:  # not UTF-8
        raise StateError(f'{path}: not a JSON state ({e})') from None
    return loads(text, engine, source=str(path))
