"""The Code panel's rows: the engine's files, what changed, a model of edited code and its first step."""
import json
import time

import microgpt as mg
from microgpt import edits
import worker_session
from worker_session import NOT_HERE, session, code_of, error_answer, failure, finite, install, model_info, parse_config, to_json


def code_files():
    """The engine's files as shipped (what the original engine runs), and the current model's edited files."""
    originals = edits.original_sources()
    code = code_of(session.trainer)
    paths = sorted(edits.EDITABLE, key=lambda path: path != 'microgpt/model.py')  # gpt() first
    return to_json({'files': [{'path': path, 'text': originals[path]} for path in paths],
                  'edited': {path: code.sources[path] for path in code.changed} if code else {}})


def code_check(sources_json):
    """Which files differ from the shipped ones, and how (a unified diff): whether or not they compile."""
    changed, diff = edits.diff(json.loads(sources_json))
    return to_json({'changed': changed, 'diff': diff})


def code_train(settings_json, sources_json):
    """A new model on the current dataset that runs the edited code, and its first step. Until both succeed
    nothing changes: a file that does not compile, or a first step that fails, is an error with code."""
    if not worker_session.CODE_RUNS_HERE:
        return failure(NOT_HERE)
    start = time.perf_counter()
    try:
        config = parse_config(settings_json)
        trainer = mg.Trainer(config, session.docs, engine='original', code=edits.edited(json.loads(sources_json)))
        validation = [[0, finite(trainer.validation_loss())]] if trainer.validation_due() else []  # step 0's
        first = trainer.step()
    except mg.MicrogptError as e:
        return error_answer(e)
    install(trainer, [mg.format_log_row(first)])
    session.step_ms = (time.perf_counter() - start) * 1000
    return to_json(dict(model_info(), losses=[first.loss], validation_losses=validation))
