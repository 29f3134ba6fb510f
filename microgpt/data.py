"""Let there be a dataset of documents, and a tokenizer to turn them into token ids and back."""
from .errors import DatasetError

MAX_BYTES = 10 * 1024 * 1024  # 10 MB: larger files are refused
MAX_CHARS = 500  # distinct characters: a bigger vocabulary is not a word list


def parse_documents(raw, source='the dataset'):
    """One document per line, stripped, empty lines dropped (as the gist).

    Accepts bytes (decoded as UTF-8, a leading BOM ignored) or str; CRLF and CR line ends
    count as line ends, as Python's text mode reads them.
    """
    if isinstance(raw, (bytes, bytearray, memoryview)):
        raw = bytes(raw)
        if len(raw) > MAX_BYTES:
            raise DatasetError(f'{source} is {len(raw) / 1e6:.1f} MB; the limit is {MAX_BYTES // (1024 * 1024)} MB')
        try:
            text = raw.decode('utf-8-sig')
        except UnicodeDecodeError as e:
            raise DatasetError(f'{source} is not UTF-8 text (undecodable byte at position {e.start})') from None
    else:
        text = raw.removeprefix('\ufeff')
    text = text.replace('\r\n', '\n').replace('\r', '\n')
    if '\x00' in text:  # a NUL is binary, not a word list (and would cut a document short where it is shown)
        line = text.count('\n', 0, text.index('\x00')) + 1
        raise DatasetError(f'{source} is not a text file: it has a NUL character (byte 0) on line {line}')
    docs = [line.strip() for line in text.strip().split('\n') if line.strip()]
    if not docs:
        raise DatasetError(f'{source} has no documents: every line is blank')
    chars = set(''.join(docs))
    if len(chars) > MAX_CHARS:
        raise DatasetError(f'{source} uses {len(chars)} distinct characters; the limit is {MAX_CHARS}')
    return docs


def read_documents(path):
    """Documents from a text file on disk."""
    try:
        with open(path, 'rb') as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise DatasetError(f'{path}: no such file') from None
    except IsADirectoryError:
        raise DatasetError(f'{path}: is a directory, not a file') from None
    except OSError as e:
        raise DatasetError(f'{path}: cannot be read ({e.strerror})') from None
    return parse_documents(raw, source=str(path))


class Tokenizer:
    """Unique characters in the dataset become token ids 0..n-1; BOS is the id after them."""

    def __init__(self, uchars):
        self.uchars = list(uchars)  # sorted unique characters
        self.BOS = len(self.uchars)  # token id for the special Beginning of Sequence (BOS) token
        self.vocab_size = len(self.uchars) + 1  # total number of unique tokens, +1 is for BOS
        self._ids = {ch: i for i, ch in enumerate(self.uchars)}

    @classmethod
    def from_documents(cls, docs):
        return cls(sorted(set(''.join(docs))))

    def encode(self, doc):
        """A document surrounded by BOS on both sides."""
        try:
            return [self.BOS] + [self._ids[ch] for ch in doc] + [self.BOS]
        except KeyError as e:
            raise DatasetError(f'character {e.args[0]!r} is not in the vocabulary') from None

    def decode(self, token_ids):
        return ''.join(self.uchars[t] for t in token_ids)
