"""A steppable training run: one document per step, samples on demand, state to and from JSON (state.py).

Everything here is shared by the engines; an engine only does the maths (engine.py says what it does).
"""
import gc
import math
import random
import time
from collections import namedtuple
from contextlib import contextmanager
from pathlib import Path

from . import limits
from .data import Tokenizer
from .engine import NonFiniteLoss
from .edits import CodeError, is_finite_float, not_a_finite_float
from .config import KEEPS_MODEL
from .errors import ConfigError, MicrogptError, TrainingError
from . import model
from .model import OriginalEngine, count_params, init_weights
from .tracing import number, starts_block, trace_call

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

# Validation (config.validation): the last tenth of the shuffled documents is held out, never trained on. Every
# VALIDATION_EVERY steps the validation loss is the average loss of the first VALIDATION_SAMPLE of them, forward
# only. Measured by benchmarks/validation.py (names, default model): an evaluation costs about 7 steps' time on
# the original engine (a forward pass costs about a third of a step there) and 4 to 5 on the efficient engine,
# so every 100 steps it adds 4 to 7% to training; 40 documents every 100 steps would add 12 to 30%.
HOLD_OUT = 10  # one document in HOLD_OUT
VALIDATION_EVERY = 100
VALIDATION_SAMPLE = 20


def split_documents(config, docs):
    """The shuffled documents as (trained on, held out): all and none unless config.validation, else the last
    tenth is held out. Raises ConfigError (naming validation) when that would leave either part empty."""
    if not config.validation:
        return docs, []
    held = len(docs) // HOLD_OUT
    if held == 0:
        raise ConfigError('validation', f'holding out 10% needs at least {HOLD_OUT} documents; '
                                        f'the dataset has {len(docs)}')
    return docs[:-held], docs[-held:]


@contextmanager
def gc_paused():
    """A step allocates a large graph with no reference cycles: reference counting frees it all,
    so the cyclic garbage collector only costs time while it runs."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Trainer:
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

    # -- forward only: nothing changes, not even the random generator -------------------
    def loss(self, doc):
        """A document's average loss under the current model, with no update: for validation. (A model that
        gives the document's next character a probability of 0 raises ValueError, as math.log(0) does.)"""
        with gc_paused():
            return self._run(self.engine.loss, self.tokenizer.encode(doc))

    def validation_due(self):
        """True when the run holds documents out and has reached a step where its validation loss is due
        (step 0, every VALIDATION_EVERY steps, and the last step)."""
        return bool(self.held_out) and (self.step_count % VALIDATION_EVERY == 0 or self.done)

    def validation_loss(self):
        """The average loss of a fixed sample of held-out documents, forward only (inf if the model gives one
        of them a probability of 0)."""
        sample = self.held_out[:VALIDATION_SAMPLE]
        try:
            return sum(self.loss(doc) for doc in sample) / len(sample)
        except MicrogptError:  # edited code that failed (a CodeError): say where
            raise
        except ValueError:  # math.log(0)
            return math.inf

    def next_token_probs(self, prefix, temperature=None):
        """The model's probability for every next token after a prefix (BOS first), at a temperature:
        forward only, no random generator. A list of vocab_size floats, BOS (the end of the word) last."""
        temperature = self.config.temperature if temperature is None else temperature
        self.config.replace(temperature=temperature)  # validates it
        tokens = self._encode(prefix)[:-1]
        limit = self.config.block_size
        if len(tokens) > limit:
            raise MicrogptError(f'the prefix has {len(prefix)} characters; with block size {limit} the model '
                                f'predicts after at most {limit - 1}')
        keys, values = self._run(self.engine.new_cache)
        with gc_paused():
            for pos_id, token_id in enumerate(tokens):
                probs = self._run(self.engine.next_token_probs, token_id, pos_id, keys, values, temperature)
        return probs

    def _encode(self, text):
        """Tokens of a text typed by a user: a character outside the vocabulary is a MicrogptError naming it."""
        unknown = [ch for ch in dict.fromkeys(text) if ch not in self.tokenizer.uchars]
        if unknown:
            shown = ', '.join(repr(ch) for ch in unknown[:5])
            raise MicrogptError(f'{shown} {"is" if len(unknown) == 1 else "are"} not in the vocabulary of this '
                                f'dataset ({"".join(self.tokenizer.uchars)[:60]})')
        return self.tokenizer.encode(text)

    def attention_maps(self, doc):
        """Every attention weight of a forward pass over a document: maps[layer][head][t][s] (engine.py)."""
        with gc_paused():
            return self._run(self.engine.attention_maps, self._encode(doc))

    def step_through(self, prefix, position, temperature=None):
        """gpt() at one position of BOS + prefix, line by line, with the variables each line changed (tracing.py).
        Forward only: no random generator, nothing changes. The efficient engine's weights are stepped through
        the original gpt() (both compute the same numbers); edited code steps through its own gpt()."""
        temperature = self.config.temperature if temperature is None else temperature
        self.config.replace(temperature=temperature)  # validates it
        tokens = self._encode(prefix)[:-1]
        limit = min(len(tokens), self.config.block_size)
        if not 0 <= position < limit:
            raise MicrogptError(f'position must be between 0 and {limit - 1} (BOS, then one for each character'
                                f'{" that fits the block size" if len(tokens) > limit else ""}), got {position}')
        with gc_paused():
            return self._run(self._step_through, tokens, position, temperature)

    def _step_through(self, tokens, position, temperature):
        module = model if self.code is None else self.code.model
        engine = self.engine
        if not isinstance(engine, module.OriginalEngine):  # the efficient engine: the same weights as Values
            engine = module.OriginalEngine(self.config, engine.weights())
        cfg, keys, values = self.config, *engine.new_cache()
        args = lambda pos_id: (tokens[pos_id], pos_id, keys, values, engine.state_dict, cfg.n_layer, cfg.n_head)
        for pos_id in range(position):  # the earlier positions fill the key/value cache, untraced
            module.gpt(*args(pos_id))
        logits, recorder = trace_call(module.gpt, args(position), skip=('state_dict',))
        probs = module.softmax([logit / temperature for logit in logits])
        lines = (self.code.sources['microgpt/model.py'] if self.code else Path(model.__file__).read_text()).splitlines()
        return {'steps': recorder.steps, 'blocks': [i for i, step in enumerate(recorder.steps)
                                                     if starts_block(lines, step)], 'steps_left_out': recorder.left_out, 'numbers_left_out': any(
                    'omitted' in v for step in recorder.steps for v in step['changed']),
                'first_line': module.gpt.__code__.co_firstlineno, 'position': position,
                'token': 'BOS' if position == 0 else self.tokenizer.uchars[tokens[position]],
                'logits': [number(logit.data) for logit in logits], 'probs': [number(p.data) for p in probs],
                'temperature': temperature, 'engine': self.engine_name, 'edited': self.code is not None}

    def _run(self, function, *args):
        """function(*args); with edited code, what it raises is a CodeError saying where."""
        return function(*args) if self.code is None else self.code.run(function, *args)

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
