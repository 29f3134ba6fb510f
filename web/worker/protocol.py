"""The page/worker protocol as data: one row per call the page makes (web/page/client.py has one function per
row, web/worker/worker.py registers exactly these rows), its arguments, and the keys of its answers.
tests/test_protocol.py holds the sides together: the rows the page calls, the keys each row sends (run in CPython),
and the keys the page reads.

Every answer is one JSON object. `answers` lists the shapes a row's answer can have (its keys, in no order); a
failure has the ERROR keys (plus `error_extra` when the row sends more with its error). `parts`: the answer is two
parts, a one-line JSON header (the keys) and a large text after the first newline, which web/js/keep.js keeps out
of the page's MicroPython (a Blob, or the chart's points); an error is one line.

The three meanings of validation have three names: `validation` is the setting (config.validation: hold out 10%),
MODEL's `split` is how the held-out documents are used ({every, sample}: a validation loss every `every` steps on
the first `sample` of them; null without the setting), and train's and code_train's `validation_losses` are the
validation losses due in that batch, [[step, loss or null]] (a batch ends where one is due; null: not finite).
"""

ERROR = ('error',  # the engine's message
         'field',  # the setting it concerns, or null
         'fields',  # every setting it concerns
         'rule',  # the message without the setting's name
         'model_only',  # true when only the current model objects
         'code_error')  # {file, line, message, step} when edited code failed (microgpt/edits.py's CodeError), or null
DATASET = ('source', 'documents', 'vocab_size', 'examples')
MODEL = ('generation',  # bumped by every new model, so the page can ignore answers about an older one
         'step', 'num_steps', 'done', 'engine', 'config',
         'step_ms',  # a step's time: measured, or a bound before the first step; the page's deadlines use it
         'vocab_size', 'source',  # the dataset's name
         'split',  # null, or {every, sample}: the validation losses (see above)
         'code')  # the files the model runs edited, [] for the shipped code
BATCH = MODEL + ('losses',  # one per step trained
                 'validation_losses')
STEP_THROUGH = ('steps', 'blocks', 'steps_left_out', 'numbers_left_out', 'position', 'token', 'logits', 'probs',
                'temperature', 'engine', 'edited')  # Trainer.step_through's keys but first_line


def row(args, *answers, error_extra=(), parts=False):
    return {'args': args, 'answers': [tuple(a) for a in answers], 'error_extra': tuple(error_extra), 'parts': parts}


ROWS = {
    'init': row('base_url: the page\'s folder URL', ['presets']),  # [{id, label, file, documents}]
    'stage_url': row('url: a preset\'s URL, or a blob: URL of an uploaded file or pasted text; source: its name',
                     DATASET),  # parsed, waiting for adopt
    'adopt': row('', DATASET),  # now the current dataset
    'describe': row('settings_json: {setting: text typed}; engine: its name (its limits in the browser: limits.py)',
                    ['num_params', 'truncated', 'block_size', 'config',
                     'changed']),  # changed: the settings that need a new model
    'reset': row('settings_json, engine', MODEL),  # a fresh model
    'train': row('max_steps, budget_ms: most steps, stop after that long', BATCH,
                 error_extra=BATCH),  # a step that failed: the steps before it are trained and answered
    'keep_settings': row('settings_json: {setting: text typed}: the ones that keep the model (steps, temperature)',
                         MODEL),
    'set_engine': row('engine', MODEL),  # same model, other engine; too large for it: the error, model kept
    'sample': row('count, temperature_text', ['generation', 'step', 'samples', 'temperature']),
    'verify': row('steps: how many on both engines (a model of edited code: on it and on the original code)',
                  ['identical', 'same_losses', 'same_params', 'steps', 'from_step', 'num_params',
                   'compared',  # what ran: two names
                   'limited']),  # null, or which steps the original engine could run of a model too large for it
    'log_csv': row('', ['csv']),  # `python -m microgpt --log`'s bytes
    'check_link': row('settings_json: [[setting, text]] in the link\'s order',
                      ['settings',  # {name: text} that apply together
                       'ignored']),  # [[name, why]]: the rest
    'export_state': row('', MODEL, parts=True),  # then the run as microgpt/state.py's JSON, log included; an error
    # if it cannot be written (numbers not finite floats, too large)
    'import_state': row('url: a blob: URL of a saved state (a file or the autosaved run); source: its dataset name; '
                        'code_choice: for edited code in it, \'\' ask, \'load\' (run it), \'original\' (the shipped '
                        'code, when the weights fit)',
                        MODEL + ('dataset',  # DATASET
                                 'last_loss', 'first_logged'),  # the log's first step: its losses follow (JSON)
                        ['code_consent',  # {changed, diff, original_fits}: with choice '' for edited code; nothing
                         'source'],  # built
                        parts=True),
    'next_token': row('prefix, temperature_text', ['generation', 'step', 'prefix', 'temperature', 'ms',
                                                   'probs']),  # [[character or 'end', p]]
    'attention': row('word', ['generation', 'step',
                              'tokens',  # each position's input: 'BOS', then characters
                              'ms', 'maps',  # maps[layer][head][t][s]
                              'truncated']),
    'step_through': row('prefix, position (0: BOS), temperature_text',
                        ('generation', 'step', 'prefix', 'ms', 'labels') + STEP_THROUGH),  # labels: each token's character
    'code_files': row('', ['files',  # [{path, text}] as shipped (model.py first)
                           'edited']),  # {path: text} of the model
    'code_check': row('sources_json: {path: text} in the editor', ['changed', 'diff']),  # whether or not it compiles
    'code_train': row('settings_json, sources_json', BATCH),  # the model changes only if the code built and its
    # first step succeeded
}
FETCHING = {'init': None, 'stage_url': 'stage_bytes', 'import_state': 'import_bytes'}  # worker.py's own rows: what
# the rows' modules have instead (the sandboxed worker is sent the bytes: web/js/sandbox.js)
