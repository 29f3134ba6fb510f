# A MODEL answer of the worker (web/worker/protocol.py's MODEL: reset, keep_settings, set_engine, train, code_train,
# import_state) as the page keeps it in session.page.model: its MODEL keys, whatever else the answer has (losses, dataset...).
# Every place that takes a MODEL answer goes through model_of (tests/test_protocol.py holds KEYS to the table).
KEYS = ('generation', 'step', 'num_steps', 'done', 'engine', 'config', 'step_ms', 'vocab_size', 'source', 'split', 'code')


def model_of(answer):
    """The model an answer describes, {key: value} for every MODEL key."""
    return {key: answer[key] for key in KEYS}
