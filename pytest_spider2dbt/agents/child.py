"""Entry point of the child Python that runs a `python:module:function` agent: `python -m ... PATH CONTEXT_JSON`."""

from __future__ import annotations

import sys

from .context import AgentContext
from .spec import AgentSpecError, load_callable

# The status a shell gives a command it cannot find; the harness reads it as "the agent did not start".
NOT_STARTED = 127


def main(argv: list[str]) -> int:
    path, context_json = argv
    try:
        function = load_callable(path)
    except AgentSpecError as error:
        print(error, file=sys.stderr)
        return NOT_STARTED
    result = function(AgentContext.from_json(context_json))
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
