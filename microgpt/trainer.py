"""A steppable training run: one document per step, samples on demand, state to and from JSON (state.py).

Everything here is shared by the engines; an engine only does the maths (engine.py says what it does). The
forward-only methods (validation loss, next-token probabilities, attention maps, Step through) are in forward.py.
"""
import math
import random
import time
from collections import namedtuple

from . import limits
from .data import Tokenizer
from .engine import NonFiniteLoss
from .edits import CodeError, is_finite_float, not_a_finite_float
from .config import KEEPS_MODEL
from .errors import ConfigError, MicrogptError, TrainingError
# HOLD_OUT, VALIDATION_EVERY, VALIDATION_SAMPLE and split_documents live in forward.py; microgpt.trainer's names too
from .forward import HOLD_OUT, VALIDATION_EVERY, VALIDATION_SAMPLE, ForwardOnly, gc_paused, split_documents  # noqa: F401
from .model import OriginalEngine, count_params, init_weights

StepResult = namedtuple('StepResult', 'step loss learning_rate')


def engine_class(name, code=None):
    """The engine of this name; with edited code (edits.py), its OriginalEngine, the only one it can change."""
    if code is not None:
        if name != 'original':
            raise ConfigError('engine', 'edited code runs on the original engine only (the efficient engine '
                                        'cannot follow edits)')
        return code.model.OriginalEngine
    if name == 'original':
        return OriginalEngine
    if name == 'efficient':
        from .efficient import EfficientEngine
        return EfficientEngine
    raise ConfigError('engine', f"must be 'original' or 'efficient', got {name!r}")


ENGINES = {'original': 'one Value per number', 'efficient': 'same math, whole vectors'}  # name: what it is
ENGINE_NAMES = tuple(ENGINES)


class Trainer(ForwardOnly):
    """Build from a Config and a list of documents; call step() until done, sample() any time."""

    def __init__(self, config, docs, engine='original', code=None):
        """code: an edits.EditedCode to build the model with (its init_weights and OriginalEngine), or None."""
        config.validate()
        cls = engine_class(engine, code)
        if not docs:
            raise MicrogptError('no documents to train on')
        rng = random.Random(config.seed)
        docs = list(docs)
        rng.shuffle(docs)  # the same order as the gist's random.shuffle(docs) after random.seed(seed)
        split_documents(config, docs)  # enough documents to hold some out? (before the slow initialisation)
        tokenizer = Tokenizer.from_documents(docs)  # every document's characters, held out or not
        limits.check(config, engine, tokenizer.vocab_size)  # before building the model
        if code is None:
            engine = cls(config, init_weights(config, tokenizer.vocab_size, rng))
        else:
            weights = code.run(code.model.init_weights, config, tokenizer.vocab_size, rng)
            engine = code.run(cls, config, weights)
        self._start(config, docs, tokenizer, rng, engine, 0, code)

    @classmethod
    def resume(cls, config, docs, tokenizer, rng, engine, step, code=None):
        """A run from its parts, as state.from_json rebuilds one: docs in training order (already shuffled,
        the held-out ones last), the run's random generator, an engine holding the weights and Adam state, the
        steps done, and the edited code the engine came from (or None)."""
        trainer = cls.__new__(cls)
        trainer._start(config, list(docs), tokenizer, rng, engine, step, code)
        return trainer

    def _start(self, config, docs, tokenizer, rng, engine, step, code=None):
        self.config = config
        limits.check(config, 'original' if code is not None else engine.name, tokenizer.vocab_size)  # fits here
        self.docs, self.held_out = split_documents(config, docs)  # step() trains on docs only
        self.tokenizer = tokenizer
        self.rng = rng  # the run's own generator: shuffling, initialisation, then sampling
        self.engine = engine
        self.step_count = step
        self.code = code  # edited code (edits.EditedCode) or None: the shipped files
        self.num_params = count_params(config, tokenizer.vocab_size)
        if code is not None:  # an edit may add or change weights
            self.num_params = sum(len(row) for mat in code.run(engine.weights).values() for row in mat)
        self.log = None  # a loaded state's log rows (state.py), when it had them

    # -- what the CLI and the page show ------------------------------------------------
    @property
    def vocab_size(self):
        return self.tokenizer.vocab_size

    @property
    def engine_name(self):
        return self.engine.name

    @property
    def done(self):
        return self.step_count >= self.config.num_steps

    def learning_rate_at(self, step):
        """Linear learning rate decay: the rate the update of 0-based step `step` uses."""
        return self.config.learning_rate * (1 - step / self.config.num_steps)

    # -- training ----------------------------------------------------------------------
    def step(self):
        """Train on the next document; returns StepResult(step number from 1, loss, learning rate used).

        Raises TrainingError if the loss is inf or nan or the arithmetic fails: then the model, the Adam
        state and step_count stay as they were after the last completed step."""
        if self.done:
            raise MicrogptError(f'training is complete: {self.step_count} of {self.config.num_steps} steps done')
        step = self.step_count
        doc = self.docs[step % len(self.docs)]
        tokens = self.tokenizer.encode(doc)
        lr_t = self.learning_rate_at(step)
        with gc_paused():
            if self.code is not None:
                loss = self._edited_step(tokens, step, lr_t)
                self.step_count = step + 1
                return StepResult(self.step_count, loss, lr_t)
            try:
                loss = self.engine.train_step(tokens, step, lr_t)
            except NonFiniteLoss as e:
                kind = 'infinite' if math.isinf(e.loss) else 'not a number (nan)'
                raise TrainingError(step + 1, f'the loss became {kind} at step {step + 1}; '
                                              f'lower the learning rate') from None
            except (ValueError, OverflowError, ZeroDivisionError) as e:
                # the words only: OverflowError(34, 'Numerical result out of range') says 'Numerical result out of range'
                reason = e.args[-1] if e.args else type(e).__name__
                raise TrainingError(step + 1, f'the arithmetic failed at step {step + 1} ({reason}); '
                                              f'lower the learning rate') from e
        self.step_count = step + 1
        return StepResult(self.step_count, loss, lr_t)

    def _edited_step(self, tokens, step, lr_t):
        """A step of edited code. Anything it raises, or a loss that is not a finite float, is a CodeError,
        and the model goes back to where the step began (the edit may have changed weights before failing)."""
        code, engine = self.code, self.engine
        weights, (m, v) = code.run(engine.weights), code.run(engine.adam_state)
        try:
            loss = code.run(engine.train_step, tokens, step, lr_t, step=step + 1)
            if not is_finite_float(loss):
                file, line = code.where(type(engine).train_step)
                raise CodeError(file, line, f'train_step returned {not_a_finite_float(loss)}', step + 1)
        except CodeError:
            self.engine = code.run(type(engine), self.config, weights)
            code.run(self.engine.load_adam_state, m, v)
            raise
        return loss

    def train(self, max_steps, seconds=None):
        """Up to max_steps steps, fewer if training completes or once `seconds` have passed (at least one
        step); returns their StepResults. The garbage collector stays paused for the whole batch, not
        only inside each step: between steps it would otherwise run about once a step.

        If a step fails, the TrainingError raised carries the steps this batch completed before it, in
        its `results`: log them, they happened."""
        results = []
        start = time.perf_counter()
        with gc_paused():
            while not self.done and len(results) < max_steps:
                try:
                    results.append(self.step())
                except TrainingError as e:
                    e.results = results
                    raise
                if seconds is not None and time.perf_counter() - start >= seconds:
                    break
        return results

    def check_kept_settings(self, **values):
        """The config these settings would give this model, checked; changes nothing. Only the settings that keep
        the model (config.KEEPS_MODEL: the total steps, the temperature) may change: another one, a value that
        breaks its rule, or fewer steps than done is a ConfigError naming the setting."""
        for name in values:
            if name not in KEEPS_MODEL:
                raise ConfigError(name, f'needs a new model (only {" and ".join(sorted(KEEPS_MODEL))} keep it)')
        config = self.config.replace(**values)
        if config.num_steps < self.step_count:
            raise ConfigError('num_steps', f'must be at least the {self.step_count} steps already trained, '
                                           f'got {config.num_steps}')
        return config

    def keep_settings(self, **values):
        """Change settings that keep the model (check_kept_settings) without losing it: the total steps set the
        learning rate decay; the temperature is the one samples use by default and the saved state keeps."""
        self.config = self.check_kept_settings(**values)

    # -- inference -----------------------------------------------------------------------
    def sample(self, count, temperature=None, rng=None):
        """Inference: may the model babble back to us. Uses the run's own random generator unless given one."""
        temperature = self.config.temperature if temperature is None else temperature
        self.config.replace(temperature=temperature)  # validates it
        rng = self.rng if rng is None else rng
        tok, engine, block_size = self.tokenizer, self.engine, self.config.block_size
        samples = []
        with gc_paused():
            for _ in range(count):
                keys, values = self._run(engine.new_cache)
                token_id = tok.BOS
                sample = []
                for pos_id in range(block_size):
                    probs = self._run(engine.next_token_probs, token_id, pos_id, keys, values, temperature)
                    token_id = self._run(rng.choices, range(tok.vocab_size), probs)[0]
                    if token_id == tok.BOS:
                        break
                    sample.append(tok.uchars[token_id])
                samples.append(''.join(sample))
        return samples


def format_log_row(result):
    """A CSV row of the training log: floats written by repr, so equal runs give equal bytes."""
    return f'{result.step},{result.loss!r},{result.learning_rate!r}'


LOG_HEADER = 'step,loss,learning_rate'
