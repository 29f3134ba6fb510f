"""A steppable training run: one document per step, samples on demand, state to and from JSON.

Everything here is shared by the engines; an engine only does the maths of a step
(forward, backward, Adam) and the next-token probabilities for sampling.
"""
import gc
import random
import time
from collections import namedtuple
from contextlib import contextmanager

from .config import Config, check_size
from .data import Tokenizer
from .errors import ConfigError, MicrogptError, StateError
from .model import OriginalEngine, count_params, init_weights, weight_shapes

StepResult = namedtuple('StepResult', 'step loss learning_rate')
STATE_FORMAT = 'microgpt-state'
STATE_VERSION = 1


def engine_class(name):
    if name == 'original':
        return OriginalEngine
    if name == 'efficient':
        from .efficient import EfficientEngine
        return EfficientEngine
    raise ConfigError('engine', f"must be 'original' or 'efficient', got {name!r}")


ENGINE_NAMES = ('original', 'efficient')


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

    def __init__(self, config, docs, engine='original', *, _restore=None):
        config.validate()
        cls = engine_class(engine)
        if not docs:
            raise MicrogptError('no documents to train on')
        self.config = config
        if _restore is None:
            self.rng = random.Random(config.seed)
            self.docs = list(docs)
            self.rng.shuffle(self.docs)  # the same order as the gist's random.shuffle(docs) after random.seed(seed)
            self.tokenizer = Tokenizer.from_documents(self.docs)
            check_size(config, self.tokenizer.vocab_size)  # validate() assumed MAX_VOCAB tokens at most
            weights = init_weights(config, self.tokenizer.vocab_size, self.rng)
            self.step_count = 0
            self.engine = cls(config, weights)
        else:
            self.rng, self.docs, self.tokenizer, weights, m, v, self.step_count = _restore
            check_size(config, self.tokenizer.vocab_size)
            self.engine = cls(config, weights)
            self.engine.m[:], self.engine.v[:] = m, v
        self.num_params = count_params(config, self.tokenizer.vocab_size)

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
        """Train on the next document; returns StepResult(step number from 1, loss, learning rate used)."""
        if self.done:
            raise MicrogptError(f'training is complete: {self.step_count} of {self.config.num_steps} steps done')
        step = self.step_count
        doc = self.docs[step % len(self.docs)]
        tokens = self.tokenizer.encode(doc)
        lr_t = self.learning_rate_at(step)
        with gc_paused():
            loss = self.engine.train_step(tokens, step, lr_t)
        self.step_count = step + 1
        return StepResult(self.step_count, loss, lr_t)

    def train(self, max_steps, seconds=None):
        """Up to max_steps steps, fewer if training completes or once `seconds` have passed (at least one
        step); returns their StepResults. The garbage collector stays paused for the whole batch, not
        only inside each step: between steps it would otherwise run about once a step."""
        results = []
        start = time.perf_counter()
        with gc_paused():
            while not self.done and len(results) < max_steps:
                results.append(self.step())
                if seconds is not None and time.perf_counter() - start >= seconds:
                    break
        return results

    def set_num_steps(self, num_steps):
        """Change the total number of steps (it sets the learning rate decay) without losing the model."""
        config = self.config.replace(num_steps=num_steps)
        if num_steps < self.step_count:
            raise ConfigError('num_steps', f'must be at least the {self.step_count} steps already trained, got {num_steps}')
        self.config = config
        self.engine.config = config

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
                keys, values = engine.new_cache()
                token_id = tok.BOS
                sample = []
                for pos_id in range(block_size):
                    probs = engine.next_token_probs(token_id, pos_id, keys, values, temperature)
                    token_id = rng.choices(range(tok.vocab_size), weights=probs)[0]
                    if token_id == tok.BOS:
                        break
                    sample.append(tok.uchars[token_id])
                samples.append(''.join(sample))
        return samples

    # -- state ---------------------------------------------------------------------------
    def export_state(self):
        """The whole run as plain JSON-able data: continuing from it gives exactly the uninterrupted trajectory."""
        version, internal, gauss_next = self.rng.getstate()
        return {
            'format': STATE_FORMAT,
            'version': STATE_VERSION,
            'engine': self.engine.name,
            'config': self.config.to_dict(),
            'uchars': ''.join(self.tokenizer.uchars),
            'docs': list(self.docs),  # in training order (already shuffled)
            'step': self.step_count,
            'weights': self.engine.weights(),
            'adam_m': list(self.engine.m),
            'adam_v': list(self.engine.v),
            'rng': [version, list(internal), gauss_next],
        }

    @classmethod
    def from_state(cls, state, engine=None):
        """Rebuild a run from export_state(); any engine can continue any engine's state."""
        if not isinstance(state, dict) or state.get('format') != STATE_FORMAT:
            raise StateError('not a microgpt state (no "format": "microgpt-state")')
        if state.get('version') != STATE_VERSION:
            raise StateError(f'unsupported state version {state.get("version")!r} (expected {STATE_VERSION})')
        try:
            config = Config.from_dict(state['config'])
            docs = [str(d) for d in state['docs']]
            tokenizer = Tokenizer(state['uchars'])
            if not docs:
                raise StateError('the state has no documents')
            if sorted(set(''.join(docs))) != tokenizer.uchars:
                raise StateError('the documents do not match the vocabulary')
            shapes = weight_shapes(config, tokenizer.vocab_size)
            weights = state['weights']
            if list(weights) != list(shapes):
                raise StateError('the weights do not match the config')
            for name, (rows, cols) in shapes.items():
                mat = weights[name]
                if len(mat) != rows or any(len(row) != cols for row in mat):
                    raise StateError(f'weights {name} should be {rows}x{cols}')
                weights[name] = [[_number(x) for x in row] for row in mat]
            n = count_params(config, tokenizer.vocab_size)
            m = [_number(x) for x in state['adam_m']]
            v = [_number(x) for x in state['adam_v']]
            if len(m) != n or len(v) != n:
                raise StateError(f'the Adam buffers should have {n} numbers each')
            step = state['step']
            if not isinstance(step, int) or not 0 <= step <= config.num_steps:
                raise StateError(f'step must be between 0 and num_steps, got {step!r}')
            version, internal, gauss_next = state['rng']
            rng = random.Random()
            rng.setstate((version, tuple(internal), gauss_next))
        except StateError:
            raise
        except ConfigError as e:
            raise StateError(f'invalid config in state: {e}') from None
        except (KeyError, TypeError, ValueError) as e:
            raise StateError(f'damaged state ({type(e).__name__}: {e})') from None
        restore = (rng, docs, tokenizer, weights, m, v, step)
        return cls(config, docs, engine or state.get('engine') or 'original', _restore=restore)


def _number(x):
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise StateError(f'expected a number, got {x!r}')
    return float(x)


def format_log_row(result):
    """A CSV row of the training log: floats written by repr, so equal runs give equal bytes."""
    return f'{result.step},{result.loss!r},{result.learning_rate!r}'


LOG_HEADER = 'step,loss,learning_rate'
