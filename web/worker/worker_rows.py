"""The worker's protocol rows (web/worker/protocol.py has the table), free of `js` and `pyscript`: the PyScript
worker (web/worker/worker.py, the shipped code) and the sandboxed worker (web/worker/sandbox_worker.js, edited code)
run these same functions, and CPython imports them (tests/test_worker_rows.py). Every answer is one JSON string.
The rows that take a URL there (stage_url, import_state) take the bytes here (stage_bytes, import_bytes): each
worker fetches, or is sent, them its own way. The rows live by concern: this module (datasets, models, training,
links), worker_verify.py, worker_saved.py (Save and Load model), worker_views.py (the views), worker_code.py (the
Code panel); worker_session.py holds what they share.
"""
import json
import time

import microgpt as mg
from microgpt import limits
from microgpt import state as saved_state
from microgpt.config import KEEPS_MODEL, SETTINGS
from microgpt.trainer import VALIDATION_EVERY, split_documents
from worker_code import code_check, code_files, code_train
from worker_saved import export_state, import_bytes
from worker_session import session, SETTING, dataset_info, error_answer, finite, install, model_info, parse_config, to_json
from worker_verify import verify
from worker_views import attention, next_token, step_through


def _stage(raw, source):
    try:
        docs = mg.parse_documents(raw, source=source)
    except mg.MicrogptError as e:
        return error_answer(e)
    session.staged = (docs, source)
    return to_json(dataset_info(docs, source))


# -- the protocol -------------------------------------------------------------------------------------------
def stage_bytes(raw, source):
    """A dataset's bytes (a preset, an uploaded file, pasted text) parsed; adopt it with adopt()."""
    return _stage(bytes(raw), source)


def adopt():
    """The staged dataset becomes the current one (the page then builds a new model with reset())."""
    if session.staged is not None:
        session.docs, session.source = session.staged
    session.staged = None
    return to_json(dataset_info(session.docs, session.source))


def describe(settings_json, engine):
    """Check settings against the current dataset, the engine's limits and the model, without changing anything."""
    try:
        config = parse_config(settings_json)
        limits.check(config, str(engine), len(set(''.join(session.docs))) + 1)
    except mg.ConfigError as e:
        return error_answer(e)
    changed = []
    t = session.trainer
    if t is not None:
        changed = [s.name for s in SETTINGS
                   if s.name not in KEEPS_MODEL and getattr(config, s.name) != getattr(t.config, s.name)]
        if not changed:
            try:
                t.check_kept_settings(**_kept(config))  # e.g. not below the steps this model has trained
            except mg.ConfigError as e:
                return error_answer(e, model_only=True)
    try:
        split_documents(config, session.docs)  # enough documents to hold some out
    except mg.ConfigError as e:
        return error_answer(e)
    vocab_size = len(set(''.join(session.docs))) + 1
    truncated = sum(1 for d in session.docs if len(d) + 1 > config.block_size)
    return to_json({'num_params': mg.count_params(config, vocab_size), 'truncated': truncated,
                  'block_size': config.block_size, 'config': config.to_dict(), 'changed': changed})


def reset(settings_json, engine):
    """A fresh model from these settings and the current dataset."""
    try:
        config = parse_config(settings_json)
        trainer = mg.Trainer(config, session.docs, engine=str(engine))
    except mg.MicrogptError as e:
        return error_answer(e)
    install(trainer, [])
    return to_json(model_info())


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
    info = dict(model_info(), losses=[result.loss for result in results],
                validation_losses=validation)
    return to_json(info) if error is None else error_answer(error, **info)


def _validate():
    """[[step, validation loss]] if one is due now and not yet computed, else []. Forward only: the training
    run is not affected."""
    t = session.trainer
    if not t.validation_due() or session.validated == t.step_count:
        return []
    session.validated = t.step_count
    return [[t.step_count, finite(t.validation_loss())]]


def _kept(config):
    """The settings of a config that keep the model (config.KEEPS_MODEL)."""
    return {name: getattr(config, name) for name in KEEPS_MODEL}


def keep_settings(settings_json):
    """The settings typed that keep the model (the total steps, the temperature) become the model's."""
    try:
        session.trainer.keep_settings(**_kept(parse_config(settings_json)))
    except mg.MicrogptError as e:  # the page calls this after describe() passed: only the model can object
        return error_answer(e, model_only=True)
    return to_json(model_info())


def set_engine(engine):
    """Continue the same model with the other engine: export the state and load it back. A model too large for
    that engine here (limits.py) is an error saying what fits, and the model stays as it was."""
    try:
        limits.check(session.trainer.config, str(engine), session.trainer.vocab_size)
        session.trainer = saved_state.from_json(saved_state.to_json(session.trainer), engine=str(engine),
                                                code_choice='trust')
    except mg.MicrogptError as e:
        return error_answer(e)
    session.step_ms = 0.0  # the other engine's steps take another time
    return to_json(model_info())


def sample(count, temperature_text):
    """Samples at this temperature from the preview generator: the training run is not affected."""
    try:
        temperature = SETTING['temperature'].parse(temperature_text)
        samples = session.trainer.sample(int(count), temperature, rng=session.preview_rng)
    except mg.MicrogptError as e:
        return error_answer(e)
    return to_json({'generation': session.generation, 'step': session.trainer.step_count, 'samples': samples, 'temperature': temperature})


def log_csv():
    """The training log of the current model, exactly as `python -m microgpt --log` writes it."""
    return to_json({'csv': mg.LOG_HEADER + '\n' + ''.join(row + '\n' for row in session.log)})


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
    return to_json({'settings': {name: repr(value) for name, value in values.items()}, 'ignored': ignored})


# the rows that need nothing but their arguments (worker.py adds init, stage_url and import_state, which fetch)
ROWS = (stage_bytes, adopt, describe, reset, train, keep_settings, set_engine, sample, verify, log_csv, check_link,
        export_state, import_bytes, next_token, attention, step_through, code_files, code_check, code_train)
