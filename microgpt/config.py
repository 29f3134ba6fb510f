"""Every setting of the gist, as one validated config."""
import math
from dataclasses import asdict, dataclass, field, fields

from .errors import ConfigError

# Each setting's own bounds. What a model of these settings costs, and where it fits (the machine's memory
# natively; in the page, Pyodide's heap, per engine), is limits.py's.
LIMITS = {
    'n_embd': 128,
    'n_head': 32,
    'n_layer': 8,
    'block_size': 128,
    'num_steps': 1_000_000,
}
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class Setting:
    """One setting, described once: the CLI's flags and help, the page's form and the checks come from here."""
    name: str
    kind: type  # int, float or bool (a check box on the page, a flag without a value in the CLI)
    default: object
    label: str  # the page's name for it
    help: str  # the CLI's help
    low: object  # bounds, included unless low_open / high_open
    high: object
    low_open: bool = False
    high_open: bool = False
    flag: str = ''  # the CLI flag (default: --name-with-dashes)
    keeps_model: bool = False  # a trained model survives a change of it
    advanced: bool = False  # on the page under "Advanced"

    @property
    def cli_flag(self):
        return self.flag or '--' + self.name.replace('_', '-')

    def parse(self, text):
        """The value of a text typed for this setting (a whole number may be written 16, 1.6e1 or 16.0)."""
        text = str(text).strip()
        if self.kind is bool:
            if text.lower() in ('true', 'false'):
                return text.lower() == 'true'
            raise ConfigError(self.name, f'must be True or False, got {text!r}')
        try:
            number = int(text) if self.kind is int else float(text)
        except ValueError:
            number = _float_or_none(text)
            if self.kind is int and number is not None and math.isfinite(number) and number == int(number):
                number = int(number)
            else:
                raise ConfigError(self.name, f'must be a {"whole number" if self.kind is int else "number"}, '
                                             f'got {text!r}') from None
        if self.kind is float and not math.isfinite(number):
            raise ConfigError(self.name, f'must be a finite number, got {text!r}')
        return number


def _float_or_none(text):
    try:
        return float(text)
    except ValueError:
        return None


def setting(default, label, help, low, high, **more):
    """A dataclass field of Config with its Setting description in the field's metadata."""
    return field(default=default, metadata={'setting': (type(default), default, label, help, low, high, more)})


@dataclass
class Config:
    n_embd: int = setting(16, 'Embedding size', 'embedding dimension', 1, LIMITS['n_embd'])
    n_head: int = setting(4, 'Heads', 'number of attention heads', 1, LIMITS['n_head'])
    n_layer: int = setting(1, 'Layers', 'number of layers', 1, LIMITS['n_layer'])
    block_size: int = setting(16, 'Block size', 'maximum sequence length', 1, LIMITS['block_size'])
    num_steps: int = setting(1000, 'Steps', 'number of training steps', 1, LIMITS['num_steps'],
                             flag='--steps', keeps_model=True)
    learning_rate: float = setting(0.01, 'Learning rate', 'Adam learning rate', 0.0, 1.0, low_open=True)
    seed: int = setting(42, 'Seed', 'random seed', 0, MAX_SEED)  # Let there be order among chaos
    # in [0.01, 10], control the "creativity" of generated text, low to high (below 0.01 logits / temperature
    # can overflow: 1e-310 ** -1 raises OverflowError)
    temperature: float = setting(0.5, 'Temperature', 'sampling temperature', 0.01, 10.0, keeps_model=True)
    # off: every document is trained on, as in the gist; on: the trainer holds out a tenth (trainer.py)
    validation: bool = setting(False, 'hold out 10% for validation',
                               'hold out 10% of the documents (fixed by the seed) and report a validation loss',
                               False, True)
    beta1: float = setting(0.85, 'Beta 1', 'Adam beta1', 0.0, 1.0, high_open=True, advanced=True)
    beta2: float = setting(0.99, 'Beta 2', 'Adam beta2', 0.0, 1.0, high_open=True, advanced=True)
    eps: float = setting(1e-8, 'Epsilon', "Adam's epsilon", 0.0, 1.0, low_open=True, advanced=True)

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
        for s in SETTINGS:
            if s.kind is int:
                _check_int(s.name, getattr(self, s.name), s.low, s.high)
            elif s.kind is bool and not isinstance(getattr(self, s.name), bool):
                raise ConfigError(s.name, f'must be True or False, got {getattr(self, s.name)!r}')
        if self.n_head > self.n_embd:
            raise ConfigError('n_head', f'must be at most n_embd ({self.n_embd}), got {self.n_head}', also=('n_embd',))
        if self.n_embd % self.n_head:
            raise ConfigError('n_embd', f'must be divisible by n_head ({self.n_embd} is not a multiple of {self.n_head})',
                              also=('n_head',))
        for s in SETTINGS:
            if s.kind is float:
                _check_float(s.name, getattr(self, s.name), s.low, s.high, s.low_open, s.high_open)
        return self


def settings():
    """Every setting's description, in the order of the page's form."""
    out = []
    for f in fields(Config):
        if 'setting' not in f.metadata:
            raise TypeError(f'Config.{f.name} has no description: declare it with setting(...)')
        kind, default, label, help, low, high, more = f.metadata['setting']
        out.append(Setting(f.name, kind, default, label, help, low, high, **more))
    return out


SETTINGS = settings()
KEEPS_MODEL = frozenset(s.name for s in SETTINGS if s.keeps_model)  # the rest need a new model when changed


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
