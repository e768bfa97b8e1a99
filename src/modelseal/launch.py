"""Start the installed modelseal from a script or a process, never a copy in the tree.

Entry points run inside the repository being checked. `python -m modelseal` there
puts the current directory first on ``sys.path``, so a ``modelseal/`` package (or a
``modelseal.py``) committed to that repository would be imported instead of the
installed code: the change under review would run its own judge.

Where modelseal has an environment of its own (pre-commit's hook environment, the
Action's venv) the entry points run ``python -I -m ...``: isolated mode leaves the
current directory off ``sys.path`` on every supported Python (``-P`` needs 3.11).
Where the interpreter is the user's (plain git hooks, and the Action's child
processes, which may run under an interpreter the workflow chose) isolated mode would
also hide a user-site or ``PYTHONPATH`` install, so they run the short program below
with ``python -c``: it drops the entry ``-c`` puts first (``""``, the current
directory) before anything is imported from ``sys.path``.
"""

from __future__ import annotations

import shlex

# `-c` adds "" (the current directory); "." can only come from PYTHONPATH, same meaning.
_PROGRAM = ('import sys; sys.path[:] = [p for p in sys.path if p not in ("", ".")]; '
            "from {module} import main; sys.exit(main())")


def program(module: str) -> str:
    """Source for ``python -c`` that runs ``module.main()`` from the installed modelseal."""
    if not module.replace(".", "").replace("_", "").isalnum():
        raise ValueError(f"not a module name: {module!r}")
    return _PROGRAM.format(module=module)


def python_argv(python: str, module: str = "modelseal.cli") -> list[str]:
    """The command that runs ``module`` with ``python``; arguments follow it."""
    return [python, "-c", program(module)]


def shell_command(python_variable: str, module: str) -> str:
    """The same for a shell script, the interpreter taken from ``$python_variable``."""
    return f'"${python_variable}" -c {shlex.quote(program(module))}'
