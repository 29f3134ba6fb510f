"""The training worker: Pyodide runs the microgpt package here, off the page's main thread.

The page (MicroPython, main thread) awaits the functions exported below through pyscript.sync. Each takes
plain values and returns one JSON string, so both interpreters see the same plain data. Everything the
engine computes (losses, the CSV log rows, samples, error messages) is produced here, by the package.
"""
import json
import random
import sys
import time

from pyodide.http import pyfetch
from pyscript import sync

mg = None  # the microgpt package, imported by init()

# settings the page sends (as the text of its inputs) -> how to read them
# settings a model cannot change once built: a different value means a new model
NEW_MODEL_FIELDS = ('n_embd', 'n_head', 'n_layer', 'block_size', 'learning_rate', 'beta1', 'beta2', 'seed')
INT_FIELDS = ('n_embd', 'n_head', 'n_layer', 'block_size', 'num_steps', 'seed')
FLOAT_FIELDS = ('learning_rate', 'beta1', 'beta2', 'temperature')


class Session:
    docs = None  # the dataset every new model trains on
    source = ''  # its name
    staged = None  # a parsed dataset waiting for the page to adopt it
    staged_source = ''
    trainer = None
    gen = 0  # bumped by every new model, so the page can ignore answers about an older one
    log = []  # CSV rows, format_log_row's strings, for the current model
    preview_rng = None  # samples come from this, never from the trainer's own generator


S = Session()


def _json(obj):
    return json.dumps(obj)


def _error(exc):
    """The engine's message (str of a MicrogptError); for a ConfigError also its field and rule."""
    return {'error': str(exc), 'field': getattr(exc, 'field', None), 'rule': getattr(exc, 'rule', None)}


def _model_only(exc):
    """An error that concerns only the current model (fewer steps than it has trained): a new one may."""
    return dict(_error(exc), model_only=True)


def _fields(settings):
    """Config fields from the page's input texts; a text that is not a number is the field's error."""
    values = {}
    for name in INT_FIELDS:
        text = str(settings[name]).strip()
        try:
            values[name] = int(text)
        except ValueError:
            raise mg.ConfigError(name, f'must be a whole number, got {text!r}') from None
    for name in FLOAT_FIELDS:
        text = str(settings[name]).strip()
        try:
            values[name] = float(text)
        except ValueError:
            raise mg.ConfigError(name, f'must be a number, got {text!r}') from None
    return values


def _config(settings_json):
    return mg.Config.from_dict(_fields(json.loads(settings_json)))


def _model_info():
    t = S.trainer
    return {'gen': S.gen, 'step': t.step_count, 'num_steps': t.config.num_steps, 'done': t.done,
            'num_params': t.num_params, 'vocab_size': t.vocab_size, 'engine': t.engine_name,
            'config': t.config.to_dict()}


def _dataset_info(docs, source):
    uchars = sorted(set(''.join(docs)))
    return {'source': source, 'documents': len(docs), 'vocab_size': len(uchars) + 1,
            'chars': ''.join(uchars), 'examples': _examples(docs, 8), 'longest': max(len(d) for d in docs)}


def _examples(docs, count):
    """A few documents spread over the file (a sorted list would otherwise show only its 'a's)."""
    if len(docs) <= count:
        return list(docs)
    return [docs[i * len(docs) // count + len(docs) // (2 * count)] for i in range(count)]


# -- exported to the page -------------------------------------------------------------------------------
async def init(base_url):
    """Fetch the package files listed in py/files.json into this worker's file system, then import it."""
    global mg
    base = base_url.rsplit('/', 1)[0] + '/'
    files = await (await pyfetch(base + 'py/files.json')).json()
    import os
    for rel in files:
        text = await (await pyfetch(base + 'py/' + rel)).string()
        path = '/home/pyodide/lib/' + rel
        os.makedirs(path.rsplit('/', 1)[0], exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
    if '/home/pyodide/lib' not in sys.path:
        sys.path.insert(0, '/home/pyodide/lib')
    import microgpt
    mg = microgpt
    presets = await (await pyfetch(base + 'data/presets.json')).json()
    return _json({'engines': list(mg.ENGINE_NAMES), 'defaults': mg.Config().to_dict(), 'presets': presets,
                  'python': sys.version.split()[0]})


async def stage_url(url, source):
    """Fetch a dataset (a preset, or an uploaded file as a blob: URL) and parse it; adopt it with adopt()."""
    try:
        response = await pyfetch(url)
        if not response.ok:
            return _json({'error': f'{source} could not be loaded (HTTP {response.status})'})
        raw = await response.bytes()
        docs = mg.parse_documents(raw, source=source)
    except mg.MicrogptError as e:
        return _json(_error(e))
    S.staged, S.staged_source = docs, source
    return _json(_dataset_info(docs, source))


def stage_text(text, source):
    """Parse pasted text as a dataset; adopt it with adopt()."""
    try:
        docs = mg.parse_documents(str(text).encode('utf-8'), source=source)  # bytes: the size limit applies
    except mg.MicrogptError as e:
        return _json(_error(e))
    S.staged, S.staged_source = docs, source
    return _json(_dataset_info(docs, source))


def adopt():
    """The staged dataset becomes the current one (the page then builds a new model with reset())."""
    if S.staged is not None:
        S.docs, S.source = S.staged, S.staged_source
    S.staged = None
    return _json(_dataset_info(S.docs, S.source))


def describe(settings_json):
    """Check settings against the current dataset and model, without changing anything.

    Returns the parameter count, how many documents the block size truncates, the settings that would need
    a new model (`changed`), or the engine's message for the first invalid setting."""
    try:
        config = _config(settings_json)
        changed = []
        t = S.trainer
        if t is not None:
            changed = [f for f in NEW_MODEL_FIELDS if getattr(config, f) != getattr(t.config, f)]
            if not changed and config.num_steps != t.config.num_steps:
                try:
                    t.check_num_steps(config.num_steps)  # the engine's own check (not below the steps done)
                except mg.ConfigError as e:
                    return _json(_model_only(e))
    except mg.ConfigError as e:
        return _json(_error(e))
    vocab_size = len(set(''.join(S.docs))) + 1
    truncated = sum(1 for d in S.docs if len(d) + 1 > config.block_size)
    return _json({'num_params': mg.count_params(config, vocab_size), 'vocab_size': vocab_size,
                  'truncated': truncated, 'documents': len(S.docs), 'block_size': config.block_size,
                  'config': config.to_dict(), 'changed': changed})


def reset(settings_json, engine):
    """A fresh model from these settings and the current dataset."""
    try:
        config = _config(settings_json)
        trainer = mg.Trainer(config, S.docs, engine=str(engine))
    except mg.MicrogptError as e:
        return _json(_error(e))
    except ImportError as e:
        return _json({'error': f'the {engine} engine is not available ({e})', 'field': 'engine'})
    S.trainer, S.gen, S.log = trainer, S.gen + 1, []
    S.preview_rng = random.Random(config.seed + 1)
    return _json(_model_info())


def train(max_steps, budget_ms):
    """Up to max_steps steps, stopping early once budget_ms have passed; their losses, and where we are.
    A step that fails (TrainingError: the loss is not finite...) adds its message as 'error'."""
    t = S.trainer
    start = time.perf_counter()
    error = None
    try:
        results = t.train(int(max_steps), budget_ms / 1000)
    except mg.TrainingError as e:  # the model stays at the last completed step; the batch's steps before it count
        results, error = e.results, e
    S.log.extend(mg.format_log_row(result) for result in results)
    info = _model_info()
    if error is not None:
        info.update(_error(error))
    info['losses'] = [result.loss for result in results]
    info['ms'] = (time.perf_counter() - start) * 1000
    info['learning_rate'] = t.learning_rate_at(min(t.step_count, t.config.num_steps - 1))
    return _json(info)


def set_num_steps(num_steps):
    try:
        S.trainer.set_num_steps(int(num_steps))
    except mg.MicrogptError as e:  # the page calls this after describe() passed: only the model can object
        return _json(_model_only(e))
    return _json(_model_info())


def set_engine(engine):
    """Continue the same model with the other engine: export the state and load it back."""
    try:
        trainer = mg.Trainer.from_state(S.trainer.export_state(), engine=str(engine))
    except mg.MicrogptError as e:
        return _json(_error(e))
    except ImportError as e:
        return _json({'error': f'the {engine} engine is not available ({e})', 'field': 'engine'})
    S.trainer = trainer
    return _json(_model_info())


def sample(count, temperature_text):
    """Samples at this temperature from the preview generator: the training run is not affected."""
    text = str(temperature_text).strip()
    try:
        temperature = float(text)
    except ValueError:
        return _json(_error(mg.ConfigError('temperature', f'must be a number, got {text!r}')))
    try:
        samples = S.trainer.sample(int(count), temperature, rng=S.preview_rng)
    except mg.MicrogptError as e:
        return _json(_error(e))
    return _json({'gen': S.gen, 'step': S.trainer.step_count, 'samples': samples, 'temperature': temperature})


def verify(steps):
    """Run a few steps from the current state with both engines; report whether they agree exactly."""
    state = S.trainer.export_state()
    runs = {}
    try:
        for engine in mg.ENGINE_NAMES:
            t = mg.Trainer.from_state(json.loads(json.dumps(state)), engine=engine)
            if t.config.num_steps - t.step_count < steps:  # a finished run: extend these copies only
                t.set_num_steps(t.step_count + steps)
            losses = [t.step().loss for _ in range(int(steps))]
            runs[engine] = (losses, t.export_state())
    except ImportError as e:
        return _json({'error': f'the efficient engine is not available ({e})'})
    except mg.MicrogptError as e:
        return _json(_error(e))
    (la, sa), (lb, sb) = runs['original'], runs['efficient']
    same_losses = la == lb
    keys = ('weights', 'adam_m', 'adam_v', 'rng', 'step')
    same_state = all(sa[k] == sb[k] for k in keys)
    n_params = S.trainer.num_params
    return _json({'identical': same_losses and same_state, 'same_losses': same_losses,
                  'same_params': same_state, 'steps': int(steps), 'from_step': state['step'],
                  'num_params': n_params, 'losses': la})


def log_csv():
    """The training log of the current model, exactly as `python -m microgpt --log` writes it."""
    return mg.LOG_HEADER + '\n' + ''.join(row + '\n' for row in S.log)


for _f in (init, stage_url, stage_text, adopt, describe, reset, train, set_num_steps, set_engine, sample,
           verify, log_csv):
    setattr(sync, _f.__name__, _f)
