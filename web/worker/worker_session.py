"""What the worker holds (the Session: dataset, model, log) and what every row's answer is made of: the JSON text,
the error keys, the MODEL and DATASET keys (web/worker/protocol.py has the table). Free of `js` and `pyscript`, as
are all the rows' modules (worker_rows.py lists them): both workers run them, and CPython imports them (tests)."""
import json
import random

import microgpt as mg
from microgpt import edits
from microgpt import limits
from microgpt.config import SETTINGS
from microgpt.trainer import VALIDATION_EVERY, VALIDATION_SAMPLE

SETTING = {s.name: s for s in SETTINGS}
CODE_RUNS_HERE = True  # False in the page's own worker (worker.py sets it): edited code runs only in the sandboxed one
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


def to_json(obj):
    return json.dumps(obj, ensure_ascii=False)  # MicroPython decodes a \ud83e\udd8a escape as two halves


def error_answer(exc, **more):
    """protocol.py's ERROR keys: the engine's message (str of a MicrogptError); for a ConfigError also the
    setting(s) and the rule; for a CodeError where the edited code failed."""
    code = ({'file': exc.file, 'line': exc.line, 'message': exc.message, 'step': exc.step}
            if isinstance(exc, edits.CodeError) else None)
    return to_json({'error': str(exc), 'field': getattr(exc, 'field', None), 'fields': list(getattr(exc, 'fields', ())),
                    'rule': getattr(exc, 'rule', None), 'model_only': False, 'code_error': code, **more})


def failure(message):
    """A failure that concerns no setting (a file that cannot be read, a row this worker does not run), with the
    same ERROR keys as every other."""
    return error_answer(mg.MicrogptError(message))


def parse_config(settings_json):
    """A validated Config from the texts typed on the page; a text that is not a number is its setting's error."""
    texts = json.loads(settings_json)
    return mg.Config.from_dict({name: s.parse(texts[name]) for name, s in SETTING.items()})


def model_info():
    t = session.trainer
    return {'generation': session.generation, 'step': t.step_count, 'num_steps': t.config.num_steps, 'done': t.done,
            'engine': t.engine_name, 'config': t.config.to_dict(), 'step_ms': session.step_ms or _step_ms_bound(t),
            'vocab_size': t.vocab_size, 'source': session.source, 'split': {'every': VALIDATION_EVERY, 'sample': min(
                VALIDATION_SAMPLE, len(t.held_out))} if t.held_out else None,
            'code': code_of(t).changed if code_of(t) else []}


def code_of(trainer):
    """The edited code a model runs (an edits.EditedCode), None for the shipped code."""
    return getattr(trainer, 'code', None)


def _step_ms_bound(t):
    """A generous bound on a step's time before one is measured: on the original engine 2.5 microseconds for
    each Value a full block's step builds (limits.step_values; the page takes about 1.2), on the efficient
    one limits.efficient_step_seconds (a bound)."""
    if t.engine_name == 'efficient':
        return limits.efficient_step_seconds(t.config, t.vocab_size) * 1000
    return limits.step_values(t.config, t.vocab_size) * 0.0025


def dataset_info(docs, source):
    return {'source': source, 'documents': len(docs), 'vocab_size': len(set(''.join(docs))) + 1,
            'examples': _examples(docs, 8)}


def _examples(docs, count):
    """A few documents spread over the file (a sorted list would otherwise show only its 'a's)."""
    if len(docs) <= count:
        return list(docs)
    return [docs[i * len(docs) // count + len(docs) // (2 * count)] for i in range(count)]


def install(trainer, log):
    session.trainer, session.generation, session.log, session.step_ms = trainer, session.generation + 1, log, 0.0
    session.log_complete = len(log) == trainer.step_count
    session.preview_rng = random.Random(trainer.config.seed + 1)
    session.validated = -1

def finite(loss):
    return loss if loss < float('inf') else None  # JSON has no inf
