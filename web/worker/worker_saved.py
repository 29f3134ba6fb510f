"""Save model and Load model's rows: the run in microgpt/state.py's format, out and in."""
import json

import microgpt as mg
from microgpt import state as saved_state
import worker_session
from worker_session import NOT_HERE, session, dataset_info, error_answer, failure, install, model_info, to_json


def export_state():
    """HEAD, a newline, then the run in microgpt/state.py's format with its log (when the whole log is known)."""
    t = session.trainer
    if t is None:
        return failure('there is no model to save')
    head = dict(model_info(), source=session.source)
    try:  # a model whose numbers are not all finite floats is not written (an autosave keeps the last good one)
        text = saved_state.dumps(t, log=session.log if session.log_complete else None)
    except mg.MicrogptError as e:
        return error_answer(e)
    return to_json(head) + '\n' + text


CODE_CHOICES = {'': saved_state.REFUSE, 'load': saved_state.TRUST, 'original': saved_state.DROP}


def import_bytes(raw, source, code_choice):
    """A saved state's bytes become the current model and dataset; a file that cannot be loaded is an error
    naming the problem, and nothing changes. Edited code in it is built only when the page says so (code_choice
    'load'), after the person saw it, and only in the sandboxed worker: with '' the answer is its changes."""
    if str(code_choice) == 'load' and not worker_session.CODE_RUNS_HERE:
        return failure(NOT_HERE)
    try:
        saved_state.check_size(len(raw), source)
        text = bytes(raw).decode('utf-8')
    except mg.MicrogptError as e:
        return error_answer(e)
    except UnicodeDecodeError:
        return failure(f'{source}: not a JSON state (not UTF-8 text)')
    try:
        trainer = saved_state.loads(text, source=source, code_choice=CODE_CHOICES[str(code_choice)])
    except mg.CodeConsentNeeded as e:
        return to_json({'code_consent': {'changed': e.changed, 'diff': e.diff, 'original_fits': e.original_fits},
                      'source': source})
    except mg.MicrogptError as e:
        return error_answer(e)
    except RecursionError:  # check_nesting refuses what could get here
        return failure(f'{source}: not a JSON state (nested too deeply)')
    session.docs, session.source, session.staged = trainer.docs, source, None
    install(trainer, list(trainer.log or []))
    losses = [float(row.split(',')[1]) for row in session.log]
    head = dict(model_info(), source=source, dataset=dataset_info(session.docs, source),
                last_loss=losses[-1] if losses else None, first_logged=trainer.step_count - len(losses) + 1)
    return to_json(head) + '\n' + json.dumps(losses)
