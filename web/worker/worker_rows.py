"""The worker's protocol rows (web/worker/worker.py's docstring has the table), free of `js` and `pyscript`: the
PyScript worker (web/worker/worker.py, the shipped code) and the sandboxed worker (web/worker/sandbox_worker.js, edited code)
run these same functions. Every answer is one JSON string. The rows that take a URL there (stage_url,
import_state) take the bytes here (stage_bytes, import_bytes): each worker fetches, or is sent, them its own way.
"""
import json
import random
import time

import microgpt as mg
from microgpt import edits
from microgpt import limits
from microgpt import state as saved_state
from microgpt.config import KEEPS_MODEL, SETTINGS
from microgpt.model import OriginalEngine
from microgpt.trainer import VALIDATION_EVERY, VALIDATION_SAMPLE, split_documents

SETTING = {s.name: s for s in SETTINGS}
CODE_RUNS_HERE = True  # False in the page's own worker (worker.py): edited code runs only in the sandboxed one
NOT_HERE = 'edited code runs only in the sandboxed worker'


class Session:
    """What the worker holds: the dataset, a dataset waiting to be adopted, the model and its log."""

    def __init__(self):
        self.docs = None  # the dataset every new model trains on
        self.source = ''  # its name
        self.staged = None  # (documents, name) parsed and waiting for the page to adopt them
        self.trainer = None
        self.generation = 0  # bumped by every new model, so the page can ignore answers about an older one
        self.log = []  # CSV rows, format_log_row's strings, for the current model
        self.preview_rng = None  # samples come from this, never from the trainer's own generator
        self.step_ms = 0.0  # the slowest batch's time per step, for the page's deadlines (0: not measured)
        self.log_complete = True  # False for a model loaded from a state without its log: session.log starts later
        self.validated = -1  # the step of the last validation loss computed (-1: none yet)


session = Session()


def _json(obj):
    return json.dumps(obj, ensure_ascii=False)  # MicroPython decodes a \ud83e\udd8a escape as two halves


def _error(exc, **more):
    """The engine's message (str of a MicrogptError); for a ConfigError also the setting(s) and the rule."""
    code = ({'file': exc.file, 'line': exc.line, 'message': exc.message, 'step': exc.step}
            if isinstance(exc, edits.CodeError) else None)
    return _json({'error': str(exc), 'field': getattr(exc, 'field', None), 'fields': list(getattr(exc, 'fields', ())),
                  'rule': getattr(exc, 'rule', None), 'code_error': code, **more})


def _config(settings_json):
    """A validated Config from the texts typed on the page; a text that is not a number is its setting's error."""
    texts = json.loads(settings_json)
    return mg.Config.from_dict({name: s.parse(texts[name]) for name, s in SETTING.items()})


def _model_info():
    t = session.trainer
    return {'generation': session.generation, 'step': t.step_count, 'num_steps': t.config.num_steps, 'done': t.done,
            'engine': t.engine_name, 'config': t.config.to_dict(), 'step_ms': session.step_ms or _step_ms_bound(t),
            'vocab_size': t.vocab_size, 'source': session.source,
            'validation': {'every': VALIDATION_EVERY, 'sample': min(VALIDATION_SAMPLE, len(t.held_out)),
                           'held_out': len(t.held_out)} if t.held_out else None,
            'code': _code_of(t).changed if _code_of(t) else []}


def _code_of(trainer):
    """The edited code a model runs (an edits.EditedCode), None for the shipped code."""
    return getattr(trainer, 'code', None)


def _step_ms_bound(t):
    """A generous bound on a step's time before one is measured: on the original engine 2.5 microseconds for
    each Value a full block's step builds (limits.step_values; the page takes about 1.2), on the efficient
    one limits.efficient_step_seconds (a bound)."""
    if t.engine_name == 'efficient':
        return limits.efficient_step_seconds(t.config, t.vocab_size) * 1000
    return limits.step_values(t.config, t.vocab_size) * 0.0025


def _dataset_info(docs, source):
    return {'source': source, 'documents': len(docs), 'vocab_size': len(set(''.join(docs))) + 1,
            'examples': _examples(docs, 8)}


def _examples(docs, count):
    """A few documents spread over the file (a sorted list would otherwise show only its 'a's)."""
    if len(docs) <= count:
        return list(docs)
    return [docs[i * len(docs) // count + len(docs) // (2 * count)] for i in range(count)]


def _stage(raw, source):
    try:
        docs = mg.parse_documents(raw, source=source)
    except mg.MicrogptError as e:
        return _error(e)
    session.staged = (docs, source)
    return _json(_dataset_info(docs, source))


# -- the protocol -------------------------------------------------------------------------------------------
def stage_bytes(raw, source):
    """A dataset's bytes (a preset, an uploaded file, pasted text) parsed; adopt it with adopt()."""
    return _stage(bytes(raw), source)


def adopt():
    """The staged dataset becomes the current one (the page then builds a new model with reset())."""
    if session.staged is not None:
        session.docs, session.source = session.staged
    session.staged = None
    return _json(_dataset_info(session.docs, session.source))


def describe(settings_json, engine):
    """Check settings against the current dataset, the engine's limits and the model, without changing anything."""
    try:
        config = _config(settings_json)
        limits.check(config, str(engine), len(set(''.join(session.docs))) + 1)
    except mg.ConfigError as e:
        return _error(e)
    changed = []
    t = session.trainer
    if t is not None:
        changed = [s.name for s in SETTINGS
                   if s.name not in KEEPS_MODEL and getattr(config, s.name) != getattr(t.config, s.name)]
        if not changed:
            try:
                t.check_kept_settings(**_kept(config))  # e.g. not below the steps this model has trained
            except mg.ConfigError as e:
                return _error(e, model_only=True)
    try:
        split_documents(config, session.docs)  # enough documents to hold some out
    except mg.ConfigError as e:
        return _error(e)
    vocab_size = len(set(''.join(session.docs))) + 1
    truncated = sum(1 for d in session.docs if len(d) + 1 > config.block_size)
    return _json({'num_params': mg.count_params(config, vocab_size), 'truncated': truncated,
                  'block_size': config.block_size, 'config': config.to_dict(), 'changed': changed})


def reset(settings_json, engine):
    """A fresh model from these settings and the current dataset."""
    try:
        config = _config(settings_json)
        trainer = mg.Trainer(config, session.docs, engine=str(engine))
    except mg.MicrogptError as e:
        return _error(e)
    _install(trainer, [])
    return _json(_model_info())


def _install(trainer, log):
    session.trainer, session.generation, session.log, session.step_ms = trainer, session.generation + 1, log, 0.0
    session.log_complete = len(log) == trainer.step_count
    session.preview_rng = random.Random(trainer.config.seed + 1)
    session.validated = -1


def train(max_steps, budget_ms):
    """Up to max_steps steps, stopping early once budget_ms have passed; their losses, and where we are.
    A step that fails (TrainingError: the loss is not finite...) adds its message as 'error'; the steps of
    the batch before it are trained, logged and answered as usual."""
    start = time.perf_counter()
    error, results, validation = None, [], []
    t = session.trainer
    max_steps = int(max_steps)
    if t.held_out:  # the batch ends where the next validation loss is due (the steps are the same either way)
        max_steps = min(max_steps, VALIDATION_EVERY - t.step_count % VALIDATION_EVERY)
    try:
        validation += _validate()  # step 0's, or a loaded run's first
        results = t.train(max_steps, budget_ms / 1000)
    except mg.TrainingError as e:  # the model stays at the last completed step (edited code may fail anywhere)
        results, error = getattr(e, 'results', results), e
    if results:
        session.step_ms = max(session.step_ms, (time.perf_counter() - start) * 1000 / len(results))
    session.log.extend(mg.format_log_row(result) for result in results)
    if error is None:
        try:
            validation += _validate()
        except mg.TrainingError as e:
            error = e
    info = dict(_model_info(), losses=[result.loss for result in results], validation=validation)
    return _json(info) if error is None else _error(error, **info)


def _validate():
    """[[step, validation loss]] if one is due now and not yet computed, else []. Forward only: the training
    run is not affected."""
    t = session.trainer
    if not t.validation_due() or session.validated == t.step_count:
        return []
    session.validated = t.step_count
    return [[t.step_count, _finite(t.validation_loss())]]


def _finite(loss):
    return loss if loss < float('inf') else None  # JSON has no inf


def _kept(config):
    """The settings of a config that keep the model (config.KEEPS_MODEL)."""
    return {name: getattr(config, name) for name in KEEPS_MODEL}


def keep_settings(settings_json):
    """The settings typed that keep the model (the total steps, the temperature) become the model's."""
    try:
        session.trainer.keep_settings(**_kept(_config(settings_json)))
    except mg.MicrogptError as e:  # the page calls this after describe() passed: only the model can object
        return _error(e, model_only=True)
    return _json(_model_info())


def set_engine(engine):
    """Continue the same model with the other engine: export the state and load it back. A model too large for
    that engine here (limits.py) is an error saying what fits, and the model stays as it was."""
    try:
        limits.check(session.trainer.config, str(engine), session.trainer.vocab_size)
        session.trainer = saved_state.from_json(saved_state.to_json(session.trainer), engine=str(engine),
                                                code_choice='trust')
    except mg.MicrogptError as e:
        return _error(e)
    session.step_ms = 0.0  # the other engine's steps take another time
    return _json(_model_info())


def sample(count, temperature_text):
    """Samples at this temperature from the preview generator: the training run is not affected."""
    try:
        temperature = SETTING['temperature'].parse(temperature_text)
        samples = session.trainer.sample(int(count), temperature, rng=session.preview_rng)
    except mg.MicrogptError as e:
        return _error(e)
    return _json({'generation': session.generation, 'step': session.trainer.step_count, 'samples': samples,
                  'temperature': temperature})


def verify(steps):
    """Run a few steps from the current state with both engines; report whether they agree exactly. A model of
    edited code runs them on its code and on the original code (the original engine both times). A model too
    large for the original engine here (limits.py) runs the next steps whose documents are short enough for
    it, and says so (limited); none: an error saying what would fit."""
    edited = _code_of(session.trainer) is not None
    steps, limited = int(steps), None
    if not edited:
        try:
            steps, limited = _steps_that_fit(session.trainer, steps)
        except mg.ConfigError as e:
            return _error(e)
    state = saved_state.to_json(session.trainer)
    runs = {}
    compared = ('your code', 'the original code') if edited else mg.ENGINE_NAMES
    try:
        for name in compared:
            copy = json.loads(json.dumps(state))
            if name == 'the original code':
                del copy['code']
            t = saved_state.from_json(copy, engine=None if edited else 'efficient', code_choice='trust')  # its own code
            if name == 'original':  # the same run on the original engine, held to the steps that fit
                efficient = t.engine
                t.engine = OriginalEngine(t.config, efficient.weights())
                t.engine.load_adam_state(*efficient.adam_state())
                del efficient
            if t.config.num_steps - t.step_count < steps:  # a finished run: extend these copies only
                t.keep_settings(num_steps=t.step_count + steps)
            losses = [t.step().loss for _ in range(steps)]
            runs[name] = (losses, saved_state.to_json(t))
    except mg.MicrogptError as e:
        return _error(e)
    (la, sa), (lb, sb) = runs[compared[0]], runs[compared[1]]
    same_losses = la == lb
    same_state = all(sa[k] == sb[k] for k in ('weights', 'adam_m', 'adam_v', 'rng', 'step'))
    return _json({'identical': same_losses and same_state, 'same_losses': same_losses,
                  'same_params': same_state, 'steps': int(steps), 'from_step': state['step'],
                  'num_params': session.trainer.num_params, 'compared': list(compared), 'limited': limited})


def _steps_that_fit(t, steps):
    """(how many of the next steps the original engine can run here, None when all with a full block, else what
    was compared and why): a step is as large as its document (limits.fits's positions), and the steps compared
    are the next ones up to the first too long. Raises ConfigError when not even the next one fits."""
    if limits.fits(t.config, 'original', t.vocab_size):
        return steps, None
    done = 0
    for i in range(steps):
        doc = t.docs[(t.step_count + i) % len(t.docs)]
        if not limits.fits(t.config, 'original', t.vocab_size, positions=min(t.config.block_size, len(doc) + 1)):
            break
        done += 1
    if done == 0:
        try:
            limits.check(t.config, 'original', t.vocab_size)
        except mg.ConfigError as e:
            raise mg.ConfigError(e.field, 'Verify cannot run the next step on the original engine: this model is '
                                          + e.rule, also=e.fields[1:]) from None
    return done, (f'The original engine cannot run a full block of this model in the browser: compared the next '
                  f'{done} of {steps} steps, whose documents are short enough for it '
                  f'({limits.largest_block(t.config, "original", t.vocab_size)} positions at most).')


def log_csv():
    """The training log of the current model, exactly as `python -m microgpt --log` writes it."""
    return _json({'csv': mg.LOG_HEADER + '\n' + ''.join(row + '\n' for row in session.log)})


def check_link(settings_json):
    """A link's settings, each parsed and checked by the settings' description: the ones that apply together
    (as their values' repr) and, for the others, why not (web/page/share.py)."""
    values, ignored = {}, []
    for name, text in json.loads(settings_json):
        if name not in SETTING:
            ignored.append([name, 'is not a setting'])
            continue
        try:
            values[name] = SETTING[name].parse(text)
        except mg.ConfigError as e:
            ignored.append([name, e.rule or str(e)])
    order = list(values)
    while values:  # a rule broken: drop the link's last setting that it concerns, until the rest agree
        try:
            mg.Config.from_dict({**mg.Config().to_dict(), **values})
            break
        except mg.ConfigError as e:
            concerned = [f for f in e.fields if f in values]
            if not concerned:
                break
            name = max(concerned, key=order.index)
            del values[name]
            ignored.append([name, e.rule or str(e)])
    return _json({'settings': {name: repr(value) for name, value in values.items()}, 'ignored': ignored})


def export_state():
    """HEAD, a newline, then the run in microgpt/state.py's format with its log (when the whole log is known)."""
    t = session.trainer
    if t is None:
        return _json({'error': 'there is no model to save'})
    head = dict(_model_info(), source=session.source)
    try:  # a model whose numbers are not all finite floats is not written (an autosave keeps the last good one)
        text = saved_state.dumps(t, log=session.log if session.log_complete else None)
    except mg.MicrogptError as e:
        return _error(e)
    return _json(head) + '\n' + text


CODE_CHOICES = {'': saved_state.REFUSE, 'load': saved_state.TRUST, 'original': saved_state.DROP}


def import_bytes(raw, source, code_choice):
    """A saved state's bytes become the current model and dataset; a file that cannot be loaded is an error
    naming the problem, and nothing changes. Edited code in it is built only when the page says so (code_choice
    'load'), after the person saw it, and only in the sandboxed worker: with '' the answer is its changes."""
    if str(code_choice) == 'load' and not CODE_RUNS_HERE:
        return _json({'error': NOT_HERE})
    try:
        saved_state.check_size(len(raw), source)
        text = bytes(raw).decode('utf-8')
    except mg.MicrogptError as e:
        return _error(e)
    except UnicodeDecodeError:
        return _json({'error': f'{source}: not a JSON state (not UTF-8 text)'})
    try:
        trainer = saved_state.loads(text, source=source, code_choice=CODE_CHOICES[str(code_choice)])
    except mg.CodeConsentNeeded as e:
        return _json({'code_consent': {'changed': e.changed, 'diff': e.diff, 'original_fits': e.original_fits},
                      'source': source})
    except mg.MicrogptError as e:
        return _error(e)
    except RecursionError:  # check_nesting refuses what could get here
        return _json({'error': f'{source}: not a JSON state (nested too deeply)'})
    session.docs, session.source, session.staged = trainer.docs, source, None
    _install(trainer, list(trainer.log or []))
    losses = [float(row.split(',')[1]) for row in session.log]
    head = dict(_model_info(), source=source, dataset=_dataset_info(session.docs, source),
                last_loss=losses[-1] if losses else None, first_logged=trainer.step_count - len(losses) + 1)
    return _json(head) + '\n' + json.dumps(losses)


def next_token(prefix, temperature_text):
    """The model's probability for every next character after a prefix, at a temperature (forward only)."""
    start = time.perf_counter()
    t = session.trainer
    try:
        temperature = SETTING['temperature'].parse(temperature_text)
        probs = t.next_token_probs(str(prefix), temperature)
    except mg.MicrogptError as e:
        return _error(e)
    labels = list(t.tokenizer.uchars) + ['end']  # BOS, last, ends the word
    return _json({'generation': session.generation, 'step': t.step_count, 'prefix': str(prefix),
                  'temperature': temperature, 'probs': [[label, p] for label, p in zip(labels, probs)],
                  'ms': (time.perf_counter() - start) * 1000})


def attention(word):
    """Every attention weight of the current model over a word (its first block_size positions)."""
    start = time.perf_counter()
    t = session.trainer
    word = str(word)
    try:
        maps = t.attention_maps(word)
    except mg.MicrogptError as e:
        return _error(e)
    n = len(maps[0][0])
    return _json({'generation': session.generation, 'step': t.step_count, 'word': word,
                  'tokens': ['BOS'] + list(word)[:n - 1],
                  'maps': [[[[round(w, 4) for w in row] for row in head] for head in layer] for layer in maps],
                  'truncated': len(word) + 1 > n, 'ms': (time.perf_counter() - start) * 1000})

def step_through(prefix, position, temperature_text):
    """gpt() at one position of the prefix, line by line, with the variables each line changed (forward only)."""
    start = time.perf_counter()
    t = session.trainer
    try:
        temperature = SETTING['temperature'].parse(temperature_text)
        trace = t.step_through(str(prefix), int(position), temperature)
    except mg.MicrogptError as e:
        return _error(e)
    return _json(dict(trace, generation=session.generation, step=t.step_count, prefix=str(prefix),
                      labels=list(t.tokenizer.uchars) + ['end'], ms=(time.perf_counter() - start) * 1000))


# -- edited code: the Code panel ----------------------------------------------------------------------------
def code_files():
    """The engine's files as shipped (what the original engine runs), and the current model's edited files."""
    originals = edits.original_sources()
    code = _code_of(session.trainer)
    paths = sorted(edits.EDITABLE, key=lambda path: path != 'microgpt/model.py')  # gpt() first
    return _json({'files': [{'path': path, 'text': originals[path]} for path in paths],
                  'edited': {path: code.sources[path] for path in code.changed} if code else {}})


def code_check(sources_json):
    """Which files differ from the shipped ones, and how (a unified diff): whether or not they compile."""
    changed, diff = edits.diff(json.loads(sources_json))
    return _json({'changed': changed, 'diff': diff})


def code_train(settings_json, sources_json):
    """A new model on the current dataset that runs the edited code, and its first step. Until both succeed
    nothing changes: a file that does not compile, or a first step that fails, is an error with code."""
    if not CODE_RUNS_HERE:
        return _json({'error': NOT_HERE})
    start = time.perf_counter()
    try:
        config = _config(settings_json)
        trainer = mg.Trainer(config, session.docs, engine='original', code=edits.edited(json.loads(sources_json)))
        validation = [[0, _finite(trainer.validation_loss())]] if trainer.validation_due() else []  # step 0's
        first = trainer.step()
    except mg.MicrogptError as e:
        return _error(e)
    _install(trainer, [mg.format_log_row(first)])
    session.step_ms = (time.perf_counter() - start) * 1000
    return _json(dict(_model_info(), losses=[first.loss], validation=validation))


# the rows that need nothing but their arguments (worker.py adds init, stage_url and import_state, which fetch)
ROWS = (stage_bytes, adopt, describe, reset, train, keep_settings, set_engine, sample, verify, log_csv, check_link,
        export_state, import_bytes, next_token, attention, step_through, code_files, code_check, code_train)
