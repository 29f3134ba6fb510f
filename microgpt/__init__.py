"""microgpt: Karpathy's pure-Python GPT as a small package that trains one step at a time."""
from .autograd import Value
from .config import Config
from .data import Tokenizer, parse_documents, read_documents
from .errors import CodeConsentNeeded, ConfigError, DatasetError, MicrogptError, StateError, TrainingError
from .model import count_params, gpt
from .trainer import ENGINE_NAMES, LOG_HEADER, StepResult, Trainer, format_log_row

__all__ = ['Value', 'Config', 'Tokenizer', 'parse_documents', 'read_documents', 'CodeConsentNeeded', 'ConfigError', 'DatasetError',
           'MicrogptError', 'StateError', 'TrainingError', 'count_params', 'gpt', 'ENGINE_NAMES', 'LOG_HEADER', 'StepResult',
           'Trainer', 'format_log_row']
