"""Every setting of the gist, as one validated config."""
import math
from dataclasses import asdict, dataclass, fields

from .errors import ConfigError

# Upper bounds that keep a browser tab (and a laptop) alive with the one-Value-per-number engine.
LIMITS = {
    'n_embd': 128,
    'n_head': 32,
    'n_layer': 8,
    'block_size': 128,
    'num_steps': 1_000_000,
}
# A step's graph grows with the parameters in the layers times the positions trained: cap that product.
MAX_LAYER_PARAMS = 300_000  # parameters in wpe and the transformer layers (the vocabulary adds wte and lm_head)
MAX_STEP_WORK = 5_000_000  # layer parameters x block_size
MAX_SEED = 2**32 - 1


@dataclass
class Config:
    n_embd: int = 16  # embedding dimension
    n_head: int = 4  # number of attention heads
    n_layer: int = 1  # number of layers
    block_size: int = 16  # maximum sequence length
    learning_rate: float = 0.01
    beta1: float = 0.85
    beta2: float = 0.99
    eps: float = 1e-8  # Adam's epsilon
    num_steps: int = 1000  # number of training steps
    temperature: float = 0.5  # in (0, 1], control the "creativity" of generated text, low to high
    seed: int = 42  # Let there be order among chaos

    @property
    def head_dim(self):
        return self.n_embd // self.n_head

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        """A validated Config from a dict (e.g. JSON); unknown keys are an error."""
        if not isinstance(values, dict):
            raise ConfigError('config', 'must be an object of settings')
        known = {f.name for f in fields(cls)}
        for key in values:
            if key not in known:
                raise ConfigError(str(key), 'is not a setting (known: ' + ', '.join(sorted(known)) + ')')
        config = cls(**values)
        config.validate()
        return config

    def replace(self, **changes):
        """A validated copy with some settings changed."""
        return Config.from_dict({**self.to_dict(), **changes})

    def validate(self):
        """Raise ConfigError naming the first setting that breaks a rule; return self when all hold."""
        for name in ('n_embd', 'n_head', 'n_layer', 'block_size', 'num_steps'):
            _check_int(name, getattr(self, name), 1, LIMITS[name])
        _check_int('seed', self.seed, 0, MAX_SEED)
        if self.n_head > self.n_embd:
            raise ConfigError('n_head', f'must be at most n_embd ({self.n_embd}), got {self.n_head}')
        if self.n_embd % self.n_head:
            raise ConfigError('n_embd', f'must be divisible by n_head ({self.n_embd} is not a multiple of {self.n_head})')
        _check_float('learning_rate', self.learning_rate, 0.0, 1.0, low_open=True)
        _check_float('beta1', self.beta1, 0.0, 1.0, high_open=True)
        _check_float('beta2', self.beta2, 0.0, 1.0, high_open=True)
        _check_float('eps', self.eps, 0.0, 1.0, low_open=True)
        _check_float('temperature', self.temperature, 0.0, 10.0, low_open=True)
        layer_params = self.block_size * self.n_embd + self.n_layer * 12 * self.n_embd * self.n_embd
        if layer_params > MAX_LAYER_PARAMS:
            raise ConfigError('n_embd', f'model too large: {layer_params:,} parameters in the layers '
                                        f'(limit {MAX_LAYER_PARAMS:,}); use fewer layers or a smaller embedding')
        if layer_params * self.block_size > MAX_STEP_WORK:
            raise ConfigError('block_size', f'too long for this model size: {layer_params:,} layer parameters x '
                                            f'block_size {self.block_size} exceeds {MAX_STEP_WORK:,}; '
                                            f'use a smaller block size or model')
        return self


def _check_int(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f'must be a whole number, got {value!r}')
    if not low <= value <= high:
        raise ConfigError(name, f'must be between {low} and {high:,}, got {value}')


def _check_float(name, value, low, high, low_open=False, high_open=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(name, f'must be a number, got {value!r}')
    if not math.isfinite(value):
        raise ConfigError(name, f'must be a finite number, got {value!r}')
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        interval = ('(' if low_open else '[') + f'{low:g}, {high:g}' + (')' if high_open else ']')
        raise ConfigError(name, f'must be in {interval}, got {value!r}')
