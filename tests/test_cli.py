import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from graphs.catalog import WORKFLOWS
from graphs.cli.commands import _NoticeHandler, _parse, main
from graphs.cli.options import context_from
from nodes import llm
from nodes.intents import INTENTS
from state.context import Context
from tests.conftest import LESSON_ROUTES, clean_env, run_cli, workflows_command


def test_run_routing_without_a_key_routes_the_lesson_queries() -> None:
    done = run_cli("run", "routing")
    assert done.returncode == 0, done.stderr
    intents = re.findall(r"^Intent: (.+) \(confidence (\d\.\d\d)\)$", done.stdout, re.M)
    assert [label for label, _ in intents] == [INTENTS[route].label for route in LESSON_ROUTES.values()]
    assert all(float(confidence) >= Context().min_confidence for _, confidence in intents)
    for query in WORKFLOWS["routing"].examples:
        assert f"Reply:  You wrote: “{query}”" in done.stdout
    assert done.stderr.count(llm.OFFLINE_NOTICE) == 1
    assert "Traceback" not in done.stderr


def test_json_output_names_the_model_of_every_node() -> None:
    done = run_cli("run", "routing", "I think there is a mistake on my last invoice.", "--json")
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)["results"]
    assert result["intent"] == "Billing Inquiry"
    assert result["models"] == {"classify": llm.OFFLINE_LABEL, "billing_inquiry": llm.OFFLINE_LABEL}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nope", "hi"], "unknown workflow 'nope'"),
        (["run", "routing", "   "], "input text is empty"),
        (["run", "routing", "hi", "--model", "gemini-2.5-flash"], "needs a Gemini API key"),
        (["run", "routing", "hi", "--node-model", "classify=google_genai:gemini-2.5-flash-lite"], "needs a Gemini"),
        (["run", "routing", "hi", "--node-model", "classify"], "expects NODE=MODEL"),
        (["run", "routing", "hi", "--node-model", "sort=offline"], "has no node 'sort'"),
        (["run", "routing", "hi", "--model", "nosuchprovider:model-x"], "Unknown model"),
        (["draw", "nope"], "unknown workflow"),
        # Documents given as an input field get the checks --doc files get, before the run.
        (["run", "voting", "hi", "--input", "documents=[]"], "documents: at least one document is needed"),
        (
            [
                "run",
                "sectioning",
                "hi",
                "--input",
                'documents=[{"title": "A", "content": "x"}, {"title": "A", "content": "y"}]',
            ],
            "documents: two documents share the title 'A'",
        ),
        (["run", "voting", "hi", "--input", 'documents=[{"title": "A", "content": ""}]'], "documents: document 1"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_code_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1, err


def test_bad_input_exits_2_from_the_console_script() -> None:
    done = run_cli("run", "routing", "", "--model", "offline")
    assert done.returncode == 2
    assert done.stderr.startswith("workflows: error: the input text is empty")


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == list(WORKFLOWS)
    assert re.match(r"routing +Classify a customer query", listed[0])


@pytest.mark.parametrize("name", WORKFLOWS)
def test_draw_shows_every_node_and_edge(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    drawable = WORKFLOWS[name].load().get_graph()
    assert main(["draw", name]) == 0
    mermaid = capsys.readouterr().out
    assert "\ngraph TD;\n" in mermaid
    for edge in drawable.edges:
        assert f"\t{edge.source} {'-.->' if edge.conditional else '-->'} {edge.target};\n" in mermaid, edge
    assert main(["draw", name, "--ascii"]) == 0
    ascii_art = capsys.readouterr().out
    for node in drawable.nodes:
        assert f"| {node} |" in ascii_art, node


def test_model_flags_reach_the_nodes(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "run",
            "routing",
            "What are your opening hours?",
            "--json",
            "--model",
            "offline",
            "--node-model",
            "classify=offline",
        ]
    )
    assert code == 0
    [result] = json.loads(capsys.readouterr().out)["results"]
    assert result["models"]["classify"] == llm.OFFLINE_LABEL


def test_a_key_in_dotenv_selects_gemini(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".env").write_text("GOOGLE_API_KEY=from-dotenv-file\n")
    assert llm.find_api_key() == "from-dotenv-file"
    assert llm.resolve_spec("auto") == llm.GEMINI_DEFAULT


def test_the_input_text_may_follow_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "routing", "--model", "offline", "--json", "What are your opening hours?"]) == 0
    [result] = json.loads(capsys.readouterr().out)["results"]
    assert result["query"] == "What are your opening hours?"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "routing", "--model", "offline", "one", "two"])
    assert exit_info.value.code == 2


def test_list_and_help_load_no_langgraph() -> None:
    # LangGraph and LangChain take most of a second to import; listing the workflows needs neither.
    code = (
        "import sys\n"
        "from graphs.cli import main\n"
        "assert main(['list']) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'langgraph', 'langchain_core', 'langchain'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_model_options_left_out_take_the_context_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parse(["run", "routing", "hi"])
    assert context_from(args, "routing", ["classify"]) == Context()
    # The help states Context's defaults, not numbers of its own.
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"(default: {Context().model})" in help_text
    assert f"most parallel model calls of one run (default: {Context().max_concurrency})" in help_text


def test_a_closed_output_pipe_ends_quietly_with_the_sigpipe_code() -> None:
    # The reader is gone before anything is written, as when `| head` has read what it wanted.
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = subprocess.run(
            [*workflows_command(), "compare", "faq", "--model", "offline"],
            stdin=subprocess.DEVNULL,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
            timeout=120,
        )
    finally:
        os.close(writer)
    assert done.returncode == 141, done.stderr
    assert "error" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_draw_ascii_works_after_the_plain_install() -> None:
    """grandalf is a dependency: the README's first command installs what `draw --ascii` needs."""
    done = run_cli("draw", "routing", "--ascii")
    assert done.returncode == 0, done.stderr
    assert "classify" in done.stdout and "technical_support" in done.stdout


def test_a_missing_package_is_one_line_naming_what_installs_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "grandalf", None)  # as if grandalf were not installed
    assert main(["draw", "routing", "--ascii"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error
    assert "grandalf" in error and "pip install" in error


def test_notices_go_to_the_current_stderr_however_often_main_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # A handler holding the stderr of an earlier main() wrote to a closed stream ("--- Logging error ---").
    for _ in range(3):
        assert main(["list"]) == 0
    logger = logging.getLogger("workflows")
    assert len([handler for handler in logger.handlers if isinstance(handler, _NoticeHandler)]) == 1
    current = io.StringIO()
    monkeypatch.setattr(sys, "stderr", current)
    logger.warning("a notice")
    assert current.getvalue() == "note: a notice\n"


def test_control_characters_in_customer_text_never_reach_the_terminal_raw() -> None:
    # An escape sequence in a query would recolour the screen or retitle the window where the reply is shown.
    # A right-to-left override would show the rest of the line in another order than it is (right-to-left text
    # itself is left as it is).
    query = "Hello \x1b[31mRED\x1b[0m \x1b]0;pwned\x07 my wifi is \u202edown\u2066\x00 and\rover שלום"
    done = run_cli("run", "routing", "-", stdin=query)
    assert done.returncode == 0, done.stderr
    for stream in (done.stdout, done.stderr):
        assert not {"\x1b", "\x07", "\x00", "\r", "\u202e", "\u2066"} & set(stream)
    assert "\\x1b[31mRED" in done.stdout and "\\u202edown\\u2066" in done.stdout and "שלום" in done.stdout
    # JSON keeps the text as it was, escaped the way JSON escapes it.
    report = json.loads(run_cli("run", "routing", "-", "--json", stdin=query).stdout)
    assert report["results"][0]["query"] == query.strip()


def test_input_setting_the_text_field_is_the_text_given_another_way() -> None:
    # One run on that text, not one per lesson input; not beside the text; refused when empty, as "" is.
    one = run_cli("run", "routing", "--input", "query=my router is broken", "--json")
    assert one.returncode == 0, one.stderr
    assert [r["query"] for r in json.loads(one.stdout)["results"]] == ["my router is broken"]
    twice = run_cli("run", "routing", "text arg", "--input", "query=input arg")
    assert twice.returncode == 2 and "given twice" in twice.stderr
    empty = run_cli("run", "routing", "--input", "query=")
    assert empty.returncode == 2 and "empty" in empty.stderr
    # Another field still applies to every lesson input.
    other = run_cli("run", "summarize_translate", "--input", "language=Italian", "--json")
    assert {r["language"] for r in json.loads(other.stdout)["results"]} == {"Italian"}


def test_input_takes_a_json_value_of_the_wrong_type_as_text_where_the_field_holds_text() -> None:
    # As `--set` reads it (a walkthrough: `--input language=123` was refused as "not a valid string").
    done = run_cli(
        "run", "summarize_translate", "Solar panels work in winter too.", "--input", "language=123", "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["results"][0]["language"] == "123"
    number = run_cli("run", "evaluator_optimizer", "--input", 'max_rounds="many"')
    assert number.returncode == 2 and "--input max_rounds:" in number.stderr


def test_debug_may_follow_the_command() -> None:
    # `--debug` belongs to the command line: after the command's name it was refused as unrecognized.
    done = run_cli("run", "routing", "hi", "--model", "no-such-model", "--debug")
    assert done.returncode == 2
    assert "Traceback" in done.stderr and "unrecognized" not in done.stderr


def test_text_that_is_not_utf8_is_refused_with_where() -> None:
    # Bytes that are not UTF-8 were run as replacement characters ("My r\ufffdseau"); "\xff\xfe" alone was routed.
    done = subprocess.run(
        [*workflows_command(), "run", "routing", "-"],
        input=b"My r\xe9seau is down",
        capture_output=True,
        env=clean_env(),
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode() == (
        "workflows: error: the text on stdin is not UTF-8 (byte 0xe9 at character 4); convert it first, "
        "e.g. iconv -f latin1 -t utf-8\n"
    )


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--max-cost", "abc", "must be a number of dollars, got 'abc'"), ("--max-tokens", "1.5", "a whole number")],
)
def test_a_budget_that_is_no_number_says_so_in_words(option: str, value: str, message: str) -> None:
    done = run_cli("run", "routing", "hi", option, value)
    assert done.returncode == 2
    assert message in done.stderr and "_positive" not in done.stderr


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["run", "routing", "hi", "--max-concurrency", "abc"], "--max-concurrency"),
        (["run", "routing", "hi", "--max-tokens", "-5"], "--max-tokens"),
        (["run", "routing", "hi", "there"], "there"),
        (["run", "routing", "hi", "-q", "--stream"], "--stream"),
        (["compare", "faq", "--quiet"], "--quiet"),
        (["eval", "nosuch"], "nosuch"),
        (["nosuch"], "nosuch"),
    ],
)
def test_an_option_argparse_refuses_is_one_line_naming_the_commands_help(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("workflows: error: ") and named in err and err.count("\n") == 1, err
    command = argv[0] if argv[0] != "nosuch" else ""
    assert err.rstrip().endswith(f"(see: {' '.join(['workflows', command]).strip()} --help)"), err
