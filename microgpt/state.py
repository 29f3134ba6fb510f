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
            ones of microgpt/autograd.py and microgpt/model.py); the run continues with that code once the
            person trusts it (from_json's code_choice: until then nothing of it is compiled). Absent for the
            shipped code. (Readers that predate it would continue with the shipped code instead.)

Anything else (another format, another version, a damaged or inconsistent file, more than MAX_STATE_BYTES,
brackets nested deeper than MAX_DEPTH, numbers that are not finite) raises StateError with a message that says
what is wrong (each field is read back and checked in state_fields.py). A run whose numbers are not all finite
floats is not written either.
"""
import json
import os
import re
from contextlib import contextmanager

from .edits import CodeError, EditedCode, diff, is_finite_float, not_a_finite_float
from .errors import CodeConsentNeeded, ConfigError, MicrogptError, StateError
from .state_fields import _adam, _fits_shipped, _model, _run_parts, _shapes, _weights
from .trainer import Trainer

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
        'weights': {name: [_saved(row, f'weights {name}') for row in mat] for name, mat in
                    trainer.engine.weights().items()},
        'adam_m': _saved(m, 'adam_m'),
        'adam_v': _saved(v, 'adam_v'),
        'rng': [version, list(internal), gauss_next],
    }
    if log is not None:
        data['log'] = list(log)
    if trainer.code is not None:
        data['code'] = {path: trainer.code.sources[path] for path in trainer.code.changed}
    return data


def _saved(numbers, where):
    """The numbers, if every one is a finite float (a state that could not be loaded is never written)."""
    for x in numbers:
        if not is_finite_float(x):
            raise StateError(f'the model cannot be saved: {where} holds {not_a_finite_float(x)}')
    return numbers


def _config_dict(config):
    values = config.to_dict()
    if not values['validation']:
        del values['validation']
    return values


# What a state's edited code becomes when it is loaded: nothing of it compiles before the person agreed.
REFUSE = 'refuse'  # a state with code raises CodeConsentNeeded (its changed files and diff), nothing compiled
TRUST = 'trust'  # the run continues with its code
DROP = 'drop'  # the run continues with the shipped code (when the saved weights fit it)
CODE_CHOICES = (REFUSE, TRUST, DROP)

MAX_STATE_BYTES = 128 * 1024 * 1024  # above the largest state written (see README: Keep the run)
MAX_DEPTH = 10  # brackets nested in a state: it needs 4 (weights: {name: [[row]]} in the object)


def from_json(data, engine=None, code_choice=REFUSE):
    """Rebuild a run (a Trainer) from to_json()'s data, with the given engine or else the one that saved it.
    Edited code in the state is built only with code_choice TRUST (see CODE_CHOICES)."""
    if code_choice not in CODE_CHOICES:
        raise MicrogptError(f'unknown code choice {code_choice!r} (known: {", ".join(CODE_CHOICES)})')
    _check_format(data)
    with _damage_named():
        run = _run_parts(data)
        code = _code(data, run, code_choice)
        shapes = _shapes(code, run.config, run.tokenizer.vocab_size)
        weights = _weights(data['weights'], shapes)
        m, v = _adam(data, sum(rows * cols for rows, cols in shapes.values()), shipped=code is None)
    model = _model(engine, data, code, run.config, run.tokenizer.vocab_size, weights, m, v)
    trainer = Trainer.resume(run.config, run.docs, run.tokenizer, run.rng, model, run.step, code)
    trainer.log = run.log
    return trainer


def _check_format(data):
    if not isinstance(data, dict) or data.get('format') != FORMAT:
        raise StateError(f'not a microgpt state (no "format": "{FORMAT}")')
    file_version = data.get('version')
    if isinstance(file_version, int) and not isinstance(file_version, bool) and file_version > VERSION:
        raise StateError(f'unsupported state version {file_version}: the file is from a newer microgpt '
                         f'(this one reads version {VERSION})')
    if file_version != VERSION:
        raise StateError(f'unsupported state version {file_version!r} (expected {VERSION})')


@contextmanager
def _damage_named():
    """Anything a damaged field raises becomes one StateError that says what."""
    try:
        yield
    except (StateError, CodeError):
        raise
    except ConfigError as e:
        raise StateError(f'invalid config in state: {e}') from None
    except (KeyError, TypeError, ValueError, OverflowError) as e:
        raise StateError(f'damaged state ({type(e).__name__}: {e})') from None


def _code(data, run, choice):
    """The edited code the run continues with (EditedCode), or None for the shipped code. Compiled only when
    trusted: else CodeConsentNeeded, or with DROP the shipped code (if the saved weights fit it)."""
    if run.sources is None:
        return None
    if choice == TRUST:
        return EditedCode(run.sources)
    fits = _fits_shipped(data, run)
    if choice == REFUSE:
        raise CodeConsentNeeded(*diff(run.sources), fits)
    if not fits:
        raise StateError('the weights do not fit the shipped code (the edit changed the model\'s weights): '
                         'the run can only continue with its code')
    return None


def dumps(trainer, log=None):
    """The state as JSON text; a StateError if it is larger than a state may be (it could not be loaded)."""
    text = json.dumps(to_json(trainer, log))  # ASCII: as many bytes as characters
    if len(text) > MAX_STATE_BYTES:
        raise StateError(f'the run cannot be saved: it takes {len(text) / 1e6:.1f} MB; a saved state may be at '
                         f'most {MAX_STATE_BYTES // (1024 * 1024)} MB')
    return text


def loads(text, engine=None, source='the state', code_choice=REFUSE):
    """A run from JSON text; text that is not JSON, too large or nested too deeply is a StateError naming
    `source`, refused before it is parsed."""
    check_size(len(text), source)  # characters: at most the bytes they came from
    check_nesting(text, source)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise StateError(f'{source}: not a JSON state ({e})') from None
    return from_json(data, engine, code_choice)


def check_size(size, source='the state'):
    """Raise StateError if a state file of `size` bytes is larger than a saved state may be."""
    if size > MAX_STATE_BYTES:
        raise StateError(f'{source} is {size / 1e6:.1f} MB; a saved state may be at most '
                         f'{MAX_STATE_BYTES // (1024 * 1024)} MB')


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_OPENING, _CLOSING = bytes.maketrans(b'{}', b'[]'), bytes(set(range(256)) - set(b'[]{}'))


def check_nesting(text, source='the state'):
    """Raise StateError if JSON text nests brackets deeper than MAX_DEPTH (the parser would overflow the stack
    long before it noticed). The strings and all but the brackets are taken out ({} become []), then innermost
    pairs are removed MAX_DEPTH times: a pair left, or more openings in a row than that, means deeper.
    Brackets that do not pair are the parser's to report."""
    raw = _STRING.sub(b'', text.encode('utf-8', 'surrogatepass'))
    brackets = raw.translate(_OPENING, _CLOSING).decode('ascii')
    too_deep = '[' * (MAX_DEPTH + 1)
    for _ in range(MAX_DEPTH):
        if too_deep in brackets:
            break
        inner = brackets.replace('[]', '')
        if inner == brackets:
            return
        brackets = inner
    if '[]' in brackets or too_deep in brackets:
        raise StateError(f'{source}: not a JSON state (nested too deeply: a state has at most {MAX_DEPTH} levels)')


def save(trainer, path, log=None):
    """Write the state to a file (UTF-8 JSON); a state that cannot be written leaves the file as it was."""
    text = dumps(trainer, log)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def load(path, engine=None, code_choice=REFUSE):
    """A run from a file written by save(); an unreadable or too large file is a StateError naming it."""
    try:
        with open(path, 'rb') as f:
            check_size(os.fstat(f.fileno()).st_size, str(path))
            raw = f.read(MAX_STATE_BYTES + 1)  # not a regular file: its size says nothing
    except OSError as e:
        raise StateError(f'{path}: cannot be read ({e.strerror})') from None
    check_size(len(raw), str(path))
    try:
        text = raw.decode('utf-8')
    except ValueError as e:  # not UTF-8
        raise StateError(f'{path}: not a JSON state ({e})') from None
    return loads(text, engine, source=str(path), code_choice=code_choice)
