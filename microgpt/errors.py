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
