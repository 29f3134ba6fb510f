"""A saved state's fields read back (state.py's from_json): each one checked, a StateError naming what is
wrong; the numbers as finite floats, the weights in the shapes the config (or the edited code) gives.
"""
import math
import random
from collections import namedtuple

from . import limits
from .config import Config
from .data import MAX_BYTES, Tokenizer
from .edits import changed_paths, check_sources, is_finite_float
from .errors import StateError
from .model import weight_shapes
from .trainer import ENGINE_NAMES, engine_class

RunParts = namedtuple('RunParts', 'config docs tokenizer step rng log sources')


def _run_parts(data):
    """Everything of the run but its numbers, checked; `sources` the edited files, not compiled."""
    config = Config.from_dict(data['config'])
    docs = _documents(data['docs'])
    if not isinstance(data['uchars'], str):
        raise StateError('the vocabulary should be text')
    tokenizer = Tokenizer(data['uchars'])
    if sorted(set(''.join(docs))) != tokenizer.uchars:
        raise StateError('the documents do not match the vocabulary')
    step = data['step']
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= config.num_steps:
        raise StateError(f'step must be between 0 and num_steps, got {step!r}')
    return RunParts(config, docs, tokenizer, step, _rng(data['rng']), _log(data.get('log'), step),
                    _sources(data.get('code')))


def _documents(docs):
    """The saved documents: text, no more of it than an uploaded dataset may have (data.py)."""
    if not isinstance(docs, list) or not all(isinstance(doc, str) for doc in docs):
        raise StateError('the documents should be a list of text')
    if not docs:
        raise StateError('the state has no documents')
    size = sum(len(doc.encode('utf-8', 'surrogatepass')) + 1 for doc in docs)
    if size > MAX_BYTES:
        raise StateError(f'the documents are {size / 1e6:.1f} MB; the limit is {MAX_BYTES // (1024 * 1024)} MB')
    return docs  # their vocabulary is the Trainer's to check (config.check_size)


def _rng(saved):
    """The run's random generator from [version, 625 numbers, gauss_next]."""
    try:
        version, internal, gauss_next = saved
        if gauss_next is not None and not is_finite_float(gauss_next):
            raise ValueError(f'gauss_next {gauss_next!r}')
        rng = random.Random()
        rng.setstate((version, tuple(internal), gauss_next))
    except (TypeError, ValueError, OverflowError) as e:
        raise StateError(f'damaged state: the random generator cannot be restored ({e})') from None
    return rng



def _sources(files):
    """The saved edited files {path: text}, checked but not compiled; None when they are the shipped code."""
    if files is None:
        return None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(t, str) for k, t in files.items()):
        raise StateError('the code should be {path: text}')
    check_sources(files)
    return dict(files) if changed_paths(files) else None


def _fits_shipped(data, run):
    """Whether the saved weights and Adam buffers have the shipped model's names and shapes."""
    shapes = weight_shapes(run.config, run.tokenizer.vocab_size)
    try:
        _check_shapes(data['weights'], shapes)
    except StateError:
        return False
    n = sum(rows * cols for rows, cols in shapes.values())
    return all(isinstance(data[key], list) and len(data[key]) == n for key in ('adam_m', 'adam_v'))


def _model(engine, data, code, config, vocab_size, weights, m, v):
    """The engine (the named one, else the one that saved the state) holding the weights and Adam state."""
    saved_engine = data.get('engine') or 'original'
    if engine is None and saved_engine not in ENGINE_NAMES:
        raise StateError(f'unknown engine {saved_engine!r} in state (known: {", ".join(ENGINE_NAMES)})')
    cls = engine_class(engine or saved_engine, code)
    limits.check(config, engine or saved_engine, vocab_size)  # before building the model
    if code is None:
        model = cls(config, weights)
        model.load_adam_state(m, v)
        return model
    model = code.run(cls, config, weights)
    code.run(model.load_adam_state, m, v)
    return model


def _log(log, step):
    """The saved log's rows, checked: one 'step,loss,learning_rate' row per step done, in order."""
    if log is None:
        return None
    if not isinstance(log, list) or len(log) != step:
        raise StateError(f'the log should have one row per step done ({step}), '
                         f'has {len(log) if isinstance(log, list) else repr(log)}')
    for i, row in enumerate(log, 1):
        parts = row.split(',') if isinstance(row, str) else ()
        if len(parts) != 3 or parts[0] != str(i) or not all(math.isfinite(float(x)) for x in parts[1:]):
            raise StateError(f'log row {i} is damaged: {_short(row)}')
    return list(log)


def _shapes(code, config, vocab_size):
    """The weights' names and shapes: model.weight_shapes, or for edited code what its init_weights makes
    (an edit may add a weight; a generator of its own leaves the run's untouched)."""
    if code is None:
        return weight_shapes(config, vocab_size)
    weights = code.run(code.model.init_weights, config, vocab_size, random.Random(0))
    return {name: (len(mat), len(mat[0]) if mat else 0) for name, mat in weights.items()}


def _check_shapes(weights, shapes):
    if not isinstance(weights, dict) or list(weights) != list(shapes):
        raise StateError('the weights do not match the config')
    for name, (rows, cols) in shapes.items():
        mat = weights[name]
        if not isinstance(mat, list) or len(mat) != rows or any(
                not isinstance(row, list) or len(row) != cols for row in mat):
            raise StateError(f'weights {name} should be {rows}x{cols}')


def _weights(weights, shapes):
    """The saved weights as finite floats, checked against the shapes the config gives."""
    _check_shapes(weights, shapes)
    return {name: [_numbers(row, f'weights {name}') for row in weights[name]] for name in shapes}


def _adam(data, n, shipped):
    """Adam's buffers: n finite numbers each; for the shipped code the second moments are not negative (its
    update takes their square root). Edited code may use them its own way."""
    m, v = _numbers(data['adam_m'], 'adam_m'), _numbers(data['adam_v'], 'adam_v')
    if len(m) != n or len(v) != n:
        raise StateError(f'the Adam buffers should have {n} numbers each')
    if shipped and any(x < 0 for x in v):
        raise StateError(f'adam_v: a second moment cannot be negative, got {min(v)!r}')
    return m, v


def _numbers(values, where):
    """A list of finite floats from JSON numbers; anything else is a StateError naming `where`."""
    if not isinstance(values, list):
        raise StateError(f'{where}: expected a list of numbers')
    return [_number(x, where) for x in values]


def _number(x, where):
    if type(x) is not float and type(x) is not int:  # not bool, not a str...
        raise StateError(f'{where}: expected a number, got {_short(x)}')
    try:
        value = float(x)
    except OverflowError:  # an integer past a float's range
        value = math.inf
    if not math.isfinite(value):
        raise StateError(f'{where}: {_short(x)} is not a finite number')
    return value


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + '…'
