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


class CodeConsentNeeded(StateError):
    """A saved state that carries edited code, loaded without the person's consent (state.py's code_choice
    'refuse'): nothing of the code was compiled. `changed` are the edited files, `diff` a unified diff of them
    against the shipped ones (what to show before asking), `original_fits` whether the saved weights fit the
    shipped code, so that the run could continue without the edit (code_choice 'drop')."""

    def __init__(self, changed, diff, original_fits):
        self.changed, self.diff, self.original_fits = list(changed), diff, original_fits
        super().__init__(f'the state carries edited code ({", ".join(self.changed)}): it runs only if you trust it')
