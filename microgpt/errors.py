"""The errors a user can cause. The CLI prints them on one line; the page shows them."""


class MicrogptError(ValueError):
    """Base class: anything wrong with what the user asked for (settings, dataset, saved state)."""


class ConfigError(MicrogptError):
    """An invalid hyperparameter. `field` names the setting, the message gives the rule."""

    def __init__(self, field, rule):
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


class DatasetError(MicrogptError):
    """A dataset that cannot be trained on (empty, undecodable, too large...)."""


class StateError(MicrogptError):
    """A saved state that cannot be loaded."""
