"""Edited code: the original engine's two files as a student changed them, run in place of the shipped ones.

The page's Code panel shows microgpt/autograd.py and microgpt/model.py; "Train with my code" hands their text
to EditedCode, which compiles them into a private package of their own (the rest of microgpt stays as it is),
and the Trainer builds its model with their init_weights and OriginalEngine. Anything the edited code raises
becomes a CodeError that names the file and line, so the page can show it beside the editor.
"""
import difflib
import itertools
import math
import sys
import types
from pathlib import Path

from .engine import NonFiniteLoss
from .errors import TrainingError

EDITABLE = ('microgpt/autograd.py', 'microgpt/model.py')  # in import order: model.py imports autograd.py
NEEDED = ('init_weights', 'OriginalEngine')  # what the Trainer takes from the edited model.py
_package_numbers = itertools.count(1)


def original_sources():
    """The shipped files, exactly as the original engine runs them."""
    here = Path(__file__).resolve().parent
    return {path: (here / Path(path).name).read_text(encoding='utf-8') for path in EDITABLE}


class CodeError(TrainingError):
    """Edited code that failed: it does not compile, or it raised (in a step, when sampling, ...).

    `file` and `line` say where (the deepest line of an edited file the error went through; None when
    unknown), `message` what ("NameError: name 'x' is not defined"), `step` the step it failed in (None
    outside training). Nothing of a failed step is applied."""

    def __init__(self, file, line, message, step=None):
        self.file, self.line, self.message = file, line, message
        where = f'{file}, line {line}: ' if file and line else (f'{file}: ' if file else '')
        super().__init__(step, where + message + (f' (at step {step})' if step else ''))


class EditedCode:
    """The edited files, compiled and imported as a private package; raises CodeError if they cannot be."""

    def __init__(self, sources):
        check_sources(sources)
        originals = original_sources()
        self.sources = {path: sources.get(path, originals[path]) for path in EDITABLE}
        self.changed = [path for path in EDITABLE if self.sources[path] != originals[path]]
        self._originals = originals
        self.package = f'microgpt_edited_{next(_package_numbers)}'
        self.model = self._import()

    def diff(self):
        """What changed, as a unified diff of each changed file against the original."""
        return diff(self.sources)[1]

    def _import(self):
        """Run the two files as modules of a package of their own, beside microgpt's other modules. The package
        is in sys.modules only while they run (model.py's `from .autograd import Value` finds the edited file):
        then it leaves, so the modules live as long as the model that uses them, and a failed edit leaves
        nothing behind. (An import inside a function of an edited file finds no package.)"""
        try:
            return self._run_files()
        finally:
            _drop_package(self.package)

    def _run_files(self):
        package = types.ModuleType(self.package)
        package.__path__ = []
        sys.modules[self.package] = package
        for name, module in list(sys.modules.items()):  # `from .engine import ...` finds microgpt's own
            if name.startswith('microgpt.') and name.count('.') == 1:
                sys.modules.setdefault(f'{self.package}.{name[9:]}', module)
        for path in EDITABLE:
            name = f'{self.package}.{Path(path).stem}'
            module = types.ModuleType(name)
            module.__file__, module.__package__ = path, self.package
            sys.modules[name] = module  # replaces microgpt's: model.py's `from .autograd` gets the edited one
            try:
                exec(compile(self.sources[path], path, 'exec'), module.__dict__)
            except (Exception, SystemExit) as e:
                error = self.error(e)
                _empty_package(self.package)
                raise error from None
        model = sys.modules[f'{self.package}.model']
        for name in NEEDED:
            if not callable(getattr(model, name, None)):
                _empty_package(self.package)
                raise CodeError('microgpt/model.py', None, f'defines no {name}, which the trainer needs')
        return model

    def run(self, function, *args, step=None):
        """function(*args), with anything it raises turned into a CodeError that says where."""
        try:
            return function(*args)
        except (Exception, SystemExit) as e:
            raise self.error(e, step) from None

    def error(self, exc, step=None):
        """A CodeError for an exception: the file and line in edited code that it went through last."""
        if isinstance(exc, SyntaxError) and exc.filename in self.sources:
            return CodeError(exc.filename, exc.lineno, f'{type(exc).__name__}: {exc.msg}', step)
        if isinstance(exc, NonFiniteLoss):
            message = f'the loss is {exc.loss!r}: not a finite number'
        else:
            message = f'{type(exc).__name__}: {exc}' if str(exc) else type(exc).__name__
        file = line = None
        tb = exc.__traceback__
        while tb is not None:  # the deepest frame that runs a line of an edited file
            if tb.tb_frame.f_globals.get('__package__') == self.package:
                file, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
            tb = tb.tb_next
        return CodeError(file, line, message, step)

    def where(self, function):
        """(file, line) where a function of the edited code is defined, for errors about what it returned."""
        code = getattr(function, '__code__', None)
        if code is not None and code.co_filename in self.sources:
            return code.co_filename, code.co_firstlineno
        return 'microgpt/model.py', None


def _in_package(package):
    return [name for name in list(sys.modules) if name == package or name.startswith(package + '.')]


def _drop_package(package):
    """Take an edited package's modules (and its names for microgpt's own) out of sys.modules."""
    for name in _in_package(package):
        sys.modules.pop(name, None)


def _empty_package(package):
    """After a failed import: empty the edited modules, so that what they allocated is released even while
    the error's traceback still refers to them."""
    for name in _in_package(package):
        module = sys.modules[name]
        if getattr(module, '__package__', None) == package:  # not microgpt's own modules
            module.__dict__.clear()


def check_sources(sources):
    """Raise CodeError unless every file is one of the files you can edit, as text."""
    for path, text in sources.items():
        if path not in EDITABLE:
            raise CodeError(path, None, f'is not one of the files you can edit ({", ".join(EDITABLE)})')
        if not isinstance(text, str):
            raise CodeError(path, None, 'is not text')


def changed_paths(sources):
    """The files of `sources` that differ from the shipped ones, in EDITABLE's order."""
    originals = original_sources()
    return [path for path in EDITABLE if sources.get(path, originals[path]) != originals[path]]


def diff(sources):
    """(the paths that differ from the shipped files, a unified diff of them): for code that may not compile."""
    originals = original_sources()
    changed = changed_paths(sources)
    return changed, ''.join(''.join(difflib.unified_diff(originals[path].splitlines(keepends=True),
                                                         _ends(sources[path]).splitlines(keepends=True),
                                                         f'a/{path}', f'b/{path}'))
                            for path in changed)


def _ends(text):
    """A text whose last line ends with a newline (else the diff's last line runs into the next file's)."""
    return text if not text or text.endswith('\n') else text + '\n'


def edited(sources):
    """EditedCode for these files, or None when they are the original files (a reverted edit is the original)."""
    check_sources(sources)
    return EditedCode(sources) if changed_paths(sources) else None


def is_finite_float(x):
    """What edited code returns must be exactly a float (a subclass could write anything into the log and the
    saved state with its own repr), and finite."""
    return type(x) is float and math.isfinite(x)


def not_a_finite_float(x):
    """What is wrong with a value that is_finite_float refused, shown without running its own repr (a float
    subclass's) where it can: '<value>: a <type>, not a float' or '<value>: not a finite number'."""
    if type(x) is float:
        return f'{x!r}: not a finite number'
    try:
        text = float.__repr__(x) if isinstance(x, float) else repr(x)
    except Exception:  # noqa: BLE001 - an edited __repr__ that fails
        text = '?'
    text = text if len(text) <= 40 else text[:39] + '…'
    return f'{text}: a {type(x).__name__}, not a float'
