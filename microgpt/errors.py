"""The errors a user can cause. The CLI prints them on one line; the page shows them."""


class MicrogptError(ValueError):
    """Base class: anything wrong with what the user asked for (settings, dataset, saved state)."""


class ConfigError(MicrogptError):
    """An invalid hyperparameter. `field` names the setting, the message gives the rule; `fields` are every
    setting the rule concerns, `field` first (n_head and n_embd for "n_embd must be divisible by n_head")."""

    def __init__(self, field, rule, also=()):
        self.field = field
        self.fields = (field, *also)
        self.rule = rule
        super().__init__(f"{field}: {rule}")


class DatasetError(MicrogptError):
    """A dataset that cannot be trained on (empty, undecodable, too large...)."""


class StateError(MicrogptError):
    """A saved state that cannot be loaded."""


class TrainingError(MicrogptError):
    """A step that failed: its loss was inf or nan, or its arithmetic failed (log of 0, an overflow...).

    The model stays as it was after the last completed step. `step` is the failed step's number (from 1,
    as the log counts); `results` are the steps Trainer.train completed in the same batch before it (their
    StepResults, an empty list when raised by Trainer.step)."""

    def __init__(self, step, message, results=()):
        self.step = step
        self.results = list(results)
        super().__init__(message)
