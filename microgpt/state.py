"""The saved state of a run: one versioned JSON format for the CLI's --save and --load and the page's
export and import. Continuing from it gives exactly the uninterrupted run (same losses, weights, samples).

Version 1, a JSON object:
  format    "microgpt-state"
  version   1
  engine    the engine that wrote it ("original" or "efficient"); any engine can continue it
  config    every Config setting (config.to_dict())
  uchars    the vocabulary: the sorted distinct characters of the documents, as one string
  docs      the documents in training order (already shuffled)
  step      the steps done, 0 .. num_steps
  weights   {name: rows of floats}, the names and shapes of model.weight_shapes, in that order
  adam_m    Adam's first moments, one float per parameter (the weights flattened row after row)
  adam_v    Adam's second moments, likewise
  rng       the run's random generator: [version, its 625 internal numbers, gauss_next]

Anything else (another format, another version, a damaged or inconsistent file) raises StateError with
a message that says what is wrong.
"""
import json
import random

from .config import Config
from .data import Tokenizer
from .errors import ConfigError, StateError
from .model import count_params, weight_shapes

FORMAT = 'microgpt-state'
VERSION = 1


def to_json(trainer):
    """The whole run as plain JSON-able data."""
    version, internal, gauss_next = trainer.rng.getstate()
    m, v = trainer.engine.adam_state()
    return {
        'format': FORMAT,
        'version': VERSION,
        'engine': trainer.engine.name,
        'config': trainer.config.to_dict(),
        'uchars': ''.join(trainer.tokenizer.uchars),
        'docs': list(trainer.docs),  # in training order (already shuffled)
        'step': trainer.step_count,
        'weights': trainer.engine.weights(),
        'adam_m': m,
        'adam_v': v,
        'rng': [version, list(internal), gauss_next],
    }


def from_json(data, engine=None):
    """Rebuild a run (a Trainer) from to_json()'s data, with the given engine or else the one that saved it."""
    from .trainer import ENGINE_NAMES, Trainer, engine_class
    if not isinstance(data, dict) or data.get('format') != FORMAT:
        raise StateError(f'not a microgpt state (no "format": "{FORMAT}")')
    if data.get('version') != VERSION:
        raise StateError(f'unsupported state version {data.get("version")!r} (expected {VERSION})')
    try:
        config = Config.from_dict(data['config'])
        docs = [str(d) for d in data['docs']]
        tokenizer = Tokenizer(data['uchars'])
        if not docs:
            raise StateError('the state has no documents')
        if sorted(set(''.join(docs))) != tokenizer.uchars:
            raise StateError('the documents do not match the vocabulary')
        weights = _weights(data['weights'], weight_shapes(config, tokenizer.vocab_size))
        n = count_params(config, tokenizer.vocab_size)
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
    except StateError:
        raise
    except ConfigError as e:
        raise StateError(f'invalid config in state: {e}') from None
    except (KeyError, TypeError, ValueError) as e:
        raise StateError(f'damaged state ({type(e).__name__}: {e})') from None
    saved_engine = data.get('engine') or 'original'
    if engine is None and saved_engine not in ENGINE_NAMES:
        raise StateError(f'unknown engine {saved_engine!r} in state (known: {", ".join(ENGINE_NAMES)})')
    model = engine_class(engine or saved_engine)(config, weights)
    model.load_adam_state(m, v)
    return Trainer.resume(config, docs, tokenizer, rng, model, step)


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


def dumps(trainer):
    """The state as JSON text."""
    return json.dumps(to_json(trainer))


def loads(text, engine=None, source='the state'):
    """A run from JSON text; text that is not JSON is a StateError naming `source`."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise StateError(f'{source}: not a JSON state ({e})') from None
    return from_json(data, engine)


def save(trainer, path):
    """Write the state to a file (UTF-8 JSON)."""
    with open(path, 'w', encoding='utf-8') as f:
        f.write(dumps(trainer))


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
