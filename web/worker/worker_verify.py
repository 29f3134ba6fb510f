"""The Verify row: a few steps on both engines (or on edited and original code) from the current state."""
import json

import microgpt as mg
from microgpt import limits
from microgpt import state as saved_state
from microgpt.model import OriginalEngine
from worker_session import session, code_of, error_answer, to_json


def verify(steps):
    """Run a few steps from the current state with both engines; report whether they agree exactly. A model of
    edited code runs them on its code and on the original code (the original engine both times). A model too
    large for the original engine here (limits.py) runs the next steps whose documents are short enough for
    it, and says so (limited); none: an error saying what would fit."""
    edited = code_of(session.trainer) is not None
    steps, limited = int(steps), None
    if not edited:
        try:
            steps, limited = _steps_that_fit(session.trainer, steps)
        except mg.ConfigError as e:
            return error_answer(e)
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
        return error_answer(e)
    (la, sa), (lb, sb) = runs[compared[0]], runs[compared[1]]
    same_losses = la == lb
    same_state = all(sa[k] == sb[k] for k in ('weights', 'adam_m', 'adam_v', 'rng', 'step'))
    return to_json({'identical': same_losses and same_state, 'same_losses': same_losses,
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
