"""The documentation says what the code does: the options reference covers every option, README's commands are CI's."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from pytest_spider2dbt.options import OPTIONS

PROJECT = Path(__file__).resolve().parent.parent
DEMO_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -e . && "
    ".venv/bin/pytest --spider2-demo --spider2-agent=reference -n 3"
)
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest -n 2"


def reference_hook() -> ModuleType:
    """The MkDocs hook that generates the options reference, loaded as MkDocs loads it: from its file."""
    path = PROJECT / "docs" / "hooks" / "options_reference.py"
    spec = importlib.util.spec_from_file_location("options_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bash_blocks(markdown: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", markdown, flags=re.DOTALL)]


def test_the_options_reference_has_a_row_for_every_option_with_its_names():
    hook = reference_hook()
    rows = hook.options_table().splitlines()[2:]
    assert len(rows) == len(OPTIONS)
    for option in OPTIONS:
        (row,) = [row for row in rows if row.startswith(f"| `{option.cli}` |")]
        assert f"`{option.ini}`" in row
        assert f"`{option.env}`" in row if option.env else "`SPIDER2_" not in row


def test_the_reference_page_and_the_site_use_the_generated_table():
    hook = reference_hook()
    assert hook.MARKER in (PROJECT / "docs" / "reference.md").read_text()
    assert "docs/hooks/options_reference.py" in (PROJECT / "mkdocs.yml").read_text()
    page = hook.on_page_markdown(f"# Options\n\n{hook.MARKER}\n")
    assert hook.MARKER not in page and "| `--spider2-root` |" in page


def test_every_link_of_the_reference_names_an_option():
    assert set(reference_hook().SEE_ALSO) <= {option.cli for option in OPTIONS}


def test_help_text_is_table_safe_and_drops_the_default_the_table_shows():
    hook = reference_hook()
    (agent,) = [option for option in OPTIONS if option.cli == "--spider2-agent"]
    text = hook.help_text(agent)
    assert "'cmd:&lt;template&gt;'" in text and "(default:" not in text
    assert hook.markdown_safe("a|b `<x>` <y>") == "a\\|b `<x>` &lt;y&gt;"


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second():
    readme = (PROJECT / "README.md").read_text()
    assert bash_blocks(readme)[:2] == [DEMO_COMMAND, TEST_COMMAND]
    assert TEST_COMMAND in (PROJECT / ".ci" / "run").read_text().splitlines()
    assert bash_blocks((PROJECT / "docs" / "getting-started.md").read_text())[:2] == [DEMO_COMMAND, TEST_COMMAND]


def test_readme_is_a_landing_page_whose_links_work_on_the_package_index():
    readme = (PROJECT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    links = re.findall(r"(?<!!)\[[^\]]*\]\(([^)]+)\)", readme)
    assert links and all(link.startswith("https://") for link in links)
