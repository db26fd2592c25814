"""`workflows bench`: every workflow on a model with a simulated response time, against the lesson's loop.

Each scenario runs graphs on the offline model made to answer like a remote one: after a fixed time per call plus
a time per output token (`OfflineChatModel.latency`, `token_latency`), deterministically. Its answers come from a
cache filled by an untimed run first, so the offline model's own text analysis (up to a quarter of a second for
an FAQ's sources) does not run on the event loop while a run is timed: a remote model thinks elsewhere. Per
scenario the bench reports model calls, tokens, wall time, the floor (the least time the same calls can take
given their latencies: LangGraph runs a graph in steps, each waiting for its slowest task, so a run's floor is,
step by step, the longest task's model time; runs at once overlap), efficiency (floor / wall), the lesson's
sequential loop (the same calls, same prompts, same model, one after another) and the speedup over it, and the
most calls in flight at once. Then the engine's overhead per node against bare LangGraph, `workflows list`
start-up, and peak memory. Every workflow of graphs/catalog.py runs on its lesson inputs, so a new workflow joins
by its catalog entry.
"""

import argparse
import asyncio
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import util
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from graphs.catalog import WORKFLOWS
from graphs.cli.options import RUN_ERROR, UsageError

# The parser is built for every `workflows` command, so this module loads no LangGraph or LangChain at import
# (most of a second), nor the slower standard modules: the functions that need them import them where used.
if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import ChatResult
    from langchain_core.runnables import RunnableConfig
    from langgraph.graph.state import CompiledStateGraph

    from nodes.offline import OfflineChatModel
    from state.context import Context

    Graph = CompiledStateGraph[Any, Any, Any, Any]

P = ParamSpec("P")
T = TypeVar("T")

LATENCY = 0.05
"""Default seconds per model call: a fast remote model's round trip (about 0.5 s) at a tenth of the scale, so the
few hundred routing runs made one after another fit in half a minute."""
TOKEN_LATENCY = 0.0004
"""Default seconds per output token: such a model's writing speed (about 250 tokens a second) at the same scale."""
RUN_KEY = "bench_run"
"""Metadata key naming the run a model call belongs to, so runs at once get a floor each."""
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
"""The canon patterns' benchmark scripts, in a checkout (not installed with the package)."""
GROUPS = ("catalog", "orchestrator", "faq", "routing", "parallel", "canon", "overhead", "startup", "memory")
"""What `--only` can pick, in the order the bench runs them."""


@dataclass(frozen=True)
class Sizes:
    """How big each scenario is: the full bench, or `--quick`'s tiny one for the smoke test."""

    orchestrator_tasks: tuple[int, ...] = (1, 3, 10, 30)
    faq_questions: tuple[int, ...] = (10, 50)
    routing_queries: int = 200
    routing_concurrency: tuple[int, ...] = (1, 8, 64)
    parallel_runs: int = 4
    catalog_questions: int | None = None
    """`num_questions` for the FAQ workflows of the catalog scenarios (None: the workflow's default)."""
    sectioning_screens: int = 16
    overhead_repeats: int = 20
    """Timed runs per workflow for the engine overhead; the best one counts."""
    startup_repeats: int = 5
    """Start-ups of `workflows list` with a bytecode cache; the best one counts."""
    startup_cache: bool = True
    """Start `workflows list` with a bytecode cache of its own, filled by a first start (False: as the environment
    has it, one start fewer)."""
    timed_runs: int = 3
    """Timed runs per scenario, the fastest counting; fewer once they took REPEAT_WITHIN seconds together."""
    latency: float = LATENCY
    token_latency: float = TOKEN_LATENCY


REPEAT_WITHIN = 5.0
"""Seconds of timed runs after which a scenario is not run again: a long run is its own average."""
FULL = Sizes()
QUICK = Sizes(
    orchestrator_tasks=(1, 3),
    faq_questions=(3,),
    routing_queries=12,
    routing_concurrency=(1, 4),
    parallel_runs=2,
    catalog_questions=2,
    sectioning_screens=2,
    overhead_repeats=2,
    startup_repeats=1,
    startup_cache=False,
    timed_runs=1,
    latency=0.002,
    token_latency=0.00001,
)


# --- The simulated model ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One model call as the simulated model saw it."""

    run: str
    """The bench's run label (RUN_KEY in the run's metadata); "" outside a labelled run."""
    step: int | None
    """LangGraph's step number; None outside a graph."""
    task: str
    """The LangGraph task (its checkpoint namespace): calls of one task run one after another."""
    node: str
    input_tokens: int
    output_tokens: int
    seconds: float
    """The simulated time of the call (the model's `call_seconds`): what the floor is made of."""
    started: float
    """When the call reached the model (past any concurrency slot): the lesson's loop replays calls in this order."""
    messages: "list[BaseMessage]"
    schema: dict[str, Any] | None


@dataclass
class CallLog:
    """The calls of a scenario, and how many were in flight at once (counted inside the model, past any slot)."""

    calls: list[Call] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0
    uncached: int = 0
    """Answers the offline model had to work out while timed (not in the cache from the untimed run)."""


class AnswerCache(dict[str, "ChatResult"]):
    """The offline model's answers by prompt: it is deterministic, so an answer worked out once is the answer."""


def answer_key(messages: "Sequence[BaseMessage]", schema: dict[str, Any] | None) -> str:
    """Return what identifies a call's answer: the messages' kinds and contents, and the schema asked for."""
    return json.dumps([[[m.type, m.content] for m in messages], schema], sort_keys=True, default=str)


@cache
def simulated(base: "type[OfflineChatModel] | None" = None) -> "type[OfflineChatModel]":
    """Return `base` (default OfflineChatModel) answering from a cache and recording each call in a CallLog.

    Its `_log` and `_answers` private attributes are what it records into and answers from (see make_model); a
    guarded view of the model shares them. The class is made per base, so a benchmark's own offline model (one
    that forgets facts, say) can be timed too.
    """
    from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import ChatResult
    from pydantic import PrivateAttr

    from nodes.offline import OfflineChatModel

    parent = base or OfflineChatModel

    class Simulated(parent):  # type: ignore[valid-type,misc]
        _log: CallLog = PrivateAttr(default_factory=CallLog)
        _answers: AnswerCache = PrivateAttr(default_factory=AnswerCache)

        def _answer(self, messages: list[BaseMessage], schema: dict[str, Any] | None) -> ChatResult:
            key = answer_key(messages, schema)
            known = self._answers.get(key)
            if known is None:
                known = self._answers[key] = super()._answer(messages, schema)
                self._log.uncached += 1
            # LangChain sets ids on the messages it returns: each call gets its own copy.
            return cast(ChatResult, known.model_copy(deep=True))

        async def _agenerate(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: AsyncCallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> ChatResult:
            log = self._log
            log.in_flight += 1
            log.peak = max(log.peak, log.in_flight)
            started = time.perf_counter()
            try:
                result: ChatResult = await super()._agenerate(messages, stop, run_manager, **kwargs)
            finally:
                log.in_flight -= 1
            schema = kwargs.get("response_json_schema")
            metadata = run_manager.metadata if run_manager else {}
            usage = getattr(result.generations[0].message, "usage_metadata", None) or {}
            log.calls.append(
                Call(
                    run=str(metadata.get(RUN_KEY, "")),
                    step=metadata.get("langgraph_step"),
                    task=str(metadata.get("langgraph_checkpoint_ns", f"call {len(log.calls)}")),
                    node=str(metadata.get("langgraph_node", "")),
                    input_tokens=usage.get("input_tokens", 0),
                    output_tokens=usage.get("output_tokens", 0),
                    seconds=self.call_seconds(result, schema),
                    started=started,
                    messages=list(messages),
                    schema=schema,
                )
            )
            return result

    Simulated.__name__ = Simulated.__qualname__ = f"Simulated{parent.__name__}"
    return Simulated


def make_model(
    latency: float,
    token_latency: float,
    answers: AnswerCache,
    log: CallLog | None = None,
    base: "type[OfflineChatModel] | None" = None,
) -> "OfflineChatModel":
    """Return a simulated model with this response time, answering from `answers`, recording into `log`."""
    model: Any = simulated(base)(latency=latency, token_latency=token_latency)
    model._log = log or CallLog()
    model._answers = answers
    return cast("OfflineChatModel", model)


class CountingPool(ThreadPoolExecutor):
    """The event loop's default thread pool, counting the work handed to it: each item is a thread hop.

    `asyncio.to_thread` (building a node's model, reading `.env` once) and LangChain's `run_in_executor` (sync
    callbacks, and the parsers of a `with_structured_output` chain, which the model layer still uses for providers
    other than Gemini and the offline model) hand work to this pool; under load, a woken thread can wait its turn
    for milliseconds, so hops are where a busy machine slows a run down.
    """

    def __init__(self) -> None:
        super().__init__(thread_name_prefix="bench")
        self.submitted = 0

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> "Future[T]":
        """Count the item, then run it as the pool would."""
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


# --- Floors --------------------------------------------------------------------------------------------------


def run_floor(calls: Iterable[Call]) -> float:
    """Return the least time one run's calls can take: per step, the task whose calls take longest, summed."""
    steps: dict[object, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for call in calls:
        # A call outside a graph step depends on whatever came before it: a step of its own.
        steps[call.step if call.step is not None else ("call", call.task)][call.task] += call.seconds
    return sum(max(tasks.values()) for tasks in steps.values())


def run_width(calls: Iterable[Call]) -> int:
    """Return the most tasks that call the model in one step of a run: the calls it could have in flight."""
    steps: dict[object, set[str]] = defaultdict(set)
    for call in calls:
        steps[call.step].add(call.task)
    return max((len(tasks) for tasks in steps.values()), default=0)


def floor(calls: Sequence[Call], at_once: int) -> float:
    """Return the least time the calls can take when at most `at_once` runs go at a time.

    No run can finish before its own floor, and `at_once` lanes cannot do the runs' work faster than the total
    divided among them: the floor is the larger of the two.
    """
    runs: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        runs[call.run].append(call)
    floors = [run_floor(run) for run in runs.values()]
    if not floors:
        return 0.0
    return max(max(floors), sum(floors) / max(1, at_once))


def width(calls: Sequence[Call], at_once: int) -> int:
    """Return the most calls the runs could have in flight at once (widest step times the runs at a time)."""
    runs: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        runs[call.run].append(call)
    widths = sorted((run_width(run) for run in runs.values()), reverse=True)
    return sum(widths[: max(1, at_once)])


# --- Scenarios -----------------------------------------------------------------------------------------------


Runner = Callable[["Context"], Awaitable[list[dict[str, Any]]]]
"""Runs a scenario's graphs under a Context whose chat model is the simulated one; returns the results."""
Check = Callable[[list[dict[str, Any]]], list[str]]
"""Says what is wrong with a scenario's results (a plan with fewer tasks than written, say); [] when right."""


@dataclass(frozen=True)
class Scenario:
    """A workload to time: what runs, how many runs go at once, and how to tell it did what it claims."""

    key: str
    """Stable name, as in the JSON and the targets ("faq_chain/10")."""
    title: str
    group: str
    runner: Runner
    at_once: int = 1
    """Runs the runner lets go at the same time (1: one after another)."""
    context: dict[str, Any] = field(default_factory=dict)
    """Context fields other than the defaults (say max_tasks=30)."""
    base: "type[OfflineChatModel] | None" = None
    check: Check | None = None
    baseline: str | None = None
    """Scenarios with the same baseline make the same calls: the lesson's loop runs once for them."""


@dataclass
class Measured:
    """What a scenario did and took."""

    key: str
    title: str
    group: str
    runs: int
    at_once: int
    calls: int
    input_tokens: int
    output_tokens: int
    wall: float
    cpu: float
    """CPU time the process spent meanwhile (all its threads): near the wall, the run waited on the CPU, not the
    model, and other processes on the machine slow it."""
    thread_hops: int
    """Work handed to the event loop's thread pool meanwhile (0 when the pool is not counted)."""
    floor: float
    sequential: float
    """Wall time of the lesson's loop: the same calls, one after another, on the same model."""
    sequential_model_time: float
    """What the model itself takes for those calls (their simulated times summed)."""
    peak: int
    width: int
    max_concurrency: int | None
    first_call_after: float
    """Seconds from the start to the first model call: set-up before any request leaves."""
    uncached: int
    problems: list[str] = field(default_factory=list)

    @property
    def efficiency(self) -> float:
        """Floor / wall: 1.0 is as fast as the calls' latencies allow."""
        return self.floor / self.wall if self.wall else 0.0

    @property
    def speedup(self) -> float:
        """The lesson's loop's wall / this wall."""
        return self.sequential / self.wall if self.wall else 0.0

    @property
    def ceiling(self) -> float:
        """The best speedup these calls allow: the loop's model time over the floor."""
        return self.sequential_model_time / self.floor if self.floor else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Return the figures as JSON-ready data."""
        return {
            "key": self.key,
            "title": self.title,
            "group": self.group,
            "runs": self.runs,
            "runs_at_once": self.at_once,
            "model_calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "wall_seconds": round(self.wall, 4),
            "cpu_seconds": round(self.cpu, 4),
            "thread_hops": self.thread_hops,
            "floor_seconds": round(self.floor, 4),
            "efficiency": round(self.efficiency, 3),
            "sequential_seconds": round(self.sequential, 4),
            "speedup": round(self.speedup, 2),
            "speedup_ceiling": round(self.ceiling, 2),
            "peak_calls_in_flight": self.peak,
            "widest_step_calls": self.width,
            "max_concurrency": self.max_concurrency,
            "first_call_after_seconds": round(self.first_call_after, 4),
            "uncached_answers": self.uncached,
            "problems": self.problems,
        }


async def drive(
    graph: "Graph", payloads: Sequence[dict[str, Any]], context: "Context", at_once: int = 1
) -> list[dict[str, Any]]:
    """Run `graph` on each payload, at most `at_once` runs at a time, each labelled for the floor."""
    gate = asyncio.Semaphore(max(1, at_once))

    async def one(index: int, payload: dict[str, Any]) -> dict[str, Any]:
        async with gate:
            # A thread id per run, as a server gives: what derives from it (the orchestrator's case ids) is the same
            # in the untimed and the timed run, so the answers that quote it come from the cache too.
            label = str(index)
            config: RunnableConfig = {"metadata": {RUN_KEY: label}, "configurable": {"thread_id": f"bench-{label}"}}
            result = await graph.ainvoke(payload, context=context, config=config)
            return dict(result)

    return list(await asyncio.gather(*(one(index, payload) for index, payload in enumerate(payloads))))


def graph_runner(name: str, payloads: Sequence[dict[str, Any]], at_once: int = 1) -> Runner:
    """Return a runner of the catalog's workflow `name` on `payloads`."""

    async def run(context: "Context") -> list[dict[str, Any]]:
        return await drive(WORKFLOWS[name].load(), payloads, context, at_once)

    return run


class Bench:
    """Times scenarios on one response-time profile, sharing the answer cache and the lesson's-loop timings."""

    def __init__(self, sizes: Sizes, report: Callable[[str], None] = lambda _: None) -> None:
        """Set up with `sizes` (and its latencies); `report` gets a line as each scenario finishes."""
        self.sizes = sizes
        self.report = report
        self.caches: dict[str, AnswerCache] = defaultdict(AnswerCache)
        self.baselines: dict[str, tuple[float, float]] = {}
        self.pool = CountingPool()
        """Counts thread hops once `run_bench` makes it the event loop's default pool."""

    def model(self, scenario: Scenario, log: CallLog, timed: bool) -> "OfflineChatModel":
        """Return the scenario's model: at the bench's latencies when timed, answering at once otherwise."""
        base = scenario.base
        answers = self.caches[base.__qualname__ if base else ""]
        latency, token_latency = (self.sizes.latency, self.sizes.token_latency) if timed else (0.0, 0.0)
        return make_model(latency, token_latency, answers, log, base)

    async def measure(self, scenario: Scenario) -> Measured:
        """Warm the answer cache with an untimed run, time a run, then time the lesson's loop on its calls."""
        from state.context import Context

        warm = self.model(scenario, CallLog(), timed=False)
        await scenario.runner(Context(chat_model=warm, **scenario.context))
        # Other processes on the machine only ever slow a run down: the fastest of a few timed runs is the figure.
        best: tuple[float, float, float, int, CallLog, Context, list[dict[str, Any]]] | None = None
        spent = 0.0
        for _ in range(max(1, self.sizes.timed_runs)):
            log = CallLog()
            context = Context(chat_model=self.model(scenario, log, timed=True), **scenario.context)
            started, cpu, hops = time.perf_counter(), time.process_time(), self.pool.submitted
            results = await scenario.runner(context)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            if best is None or wall < best[1]:
                best = (started, wall, cpu, self.pool.submitted - hops, log, context, results)
            spent += wall
            if spent >= REPEAT_WITHIN:
                break
        assert best is not None
        started, wall, cpu, hops, log, context, results = best
        calls = log.calls
        runs = len({call.run for call in calls}) or 1
        sequential, model_time = await self.lesson_loop(scenario, calls)
        measured = Measured(
            key=scenario.key,
            title=scenario.title,
            group=scenario.group,
            runs=runs,
            at_once=min(scenario.at_once, runs),
            calls=len(calls),
            input_tokens=sum(call.input_tokens for call in calls),
            output_tokens=sum(call.output_tokens for call in calls),
            wall=wall,
            cpu=cpu,
            thread_hops=hops,
            floor=floor(calls, scenario.at_once),
            sequential=sequential,
            sequential_model_time=model_time,
            peak=log.peak,
            width=width(calls, scenario.at_once),
            max_concurrency=getattr(context, "max_concurrency", None),
            first_call_after=min((call.started for call in calls), default=started) - started,
            uncached=log.uncached,
            problems=scenario.check(results) if scenario.check else [],
        )
        self.report(
            f"{measured.title}: {measured.calls} calls, wall {measured.wall:.2f} s, floor {measured.floor:.2f} s, "
            f"lesson's loop {measured.sequential:.2f} s"
        )
        return measured

    async def lesson_loop(self, scenario: Scenario, calls: Sequence[Call]) -> tuple[float, float]:
        """Time the same calls one after another on the same model, as the lesson's code makes them.

        Returns the wall time (the fastest of up to `timed_runs` loops, as for the graph's runs) and the model's
        own time for them (their simulated times summed).
        """
        if scenario.baseline and scenario.baseline in self.baselines:
            return self.baselines[scenario.baseline]
        model = self.model(scenario, CallLog(), timed=True)
        walls: list[float] = []
        while len(walls) < max(1, self.sizes.timed_runs) and sum(walls) < REPEAT_WITHIN:
            started = time.perf_counter()
            for call in sorted(calls, key=lambda c: c.started):
                if call.schema is None:
                    await model.ainvoke(call.messages)
                else:
                    await model.ainvoke(call.messages, response_json_schema=call.schema)
            walls.append(time.perf_counter() - started)
        timing = (min(walls), sum(call.seconds for call in calls))
        if scenario.baseline:
            self.baselines[scenario.baseline] = timing
        return timing


# --- What each scenario runs -------------------------------------------------------------------------------------

BILLING_CONCERNS = (
    "looks higher than the price I was quoted",
    "charges me twice for the same month",
    "lists a service I never ordered",
    "has the wrong billing address on it",
    "shows a late fee although I paid on time",
    "applies the wrong tax rate",
    "was sent to my old company",
)


def billing_message(tasks: int) -> str:
    """Return a customer message with `tasks` billing requests, each on its own invoice (each worker asks the model)."""
    return " ".join(f"Invoice INV-{4100 + n} {BILLING_CONCERNS[n % len(BILLING_CONCERNS)]}." for n in range(tasks))


def expect_tasks(tasks: int) -> Check:
    """Check that the plan held `tasks` tasks and every worker finished its own."""

    def check(results: list[dict[str, Any]]) -> list[str]:
        done = [r for result in results for r in result.get("results", []) if r.get("ok")]
        return [] if len(done) == tasks else [f"{len(done)} of {tasks} tasks done"]

    return check


def expect_items(questions: int) -> Check:
    """Check that each FAQ run gave `questions` items and no failed question."""

    def check(results: list[dict[str, Any]]) -> list[str]:
        return [
            f"run {n}: {len(result.get('faqs', []))} items of {questions}, {len(result.get('failed', []))} failed"
            for n, result in enumerate(results)
            if len(result.get("faqs", [])) != questions or result.get("failed")
        ]

    return check


def expect_replies(results: list[dict[str, Any]]) -> list[str]:
    """Check that every routing run replied."""
    silent = sum(not result.get("reply") for result in results)
    return [f"{silent} runs without a reply"] if silent else []


def routing_queries(count: int) -> list[dict[str, Any]]:
    """Return `count` routing inputs: the shipped labelled set's queries, again from the start when more are asked."""
    from graphs.cli.evaluate import SUITES, load_items

    queries = [item["query"] for item in load_items("routing", SUITES["routing"].data)]
    return [{"query": queries[n % len(queries)]} for n in range(count)]


def catalog_scenarios(sizes: Sizes) -> list[Scenario]:
    """One scenario per workflow of the catalog: its lesson inputs, one run after another (as `workflows run`)."""
    scenarios = []
    for name, workflow in WORKFLOWS.items():
        payloads = workflow.inputs(None, questions=sizes.catalog_questions if workflow.count_key else None)
        scenarios.append(
            Scenario(
                f"catalog/{name}",
                f"{name}, lesson inputs ({len(payloads)})",
                "catalog",
                graph_runner(name, payloads),
            )
        )
    return scenarios


def orchestrator_scenarios(sizes: Sizes) -> list[Scenario]:
    """The orchestrator on messages of 1, 3, 10 and 30 billing tasks (max_tasks raised where needed)."""
    from state.context import Context

    return [
        Scenario(
            f"orchestrator/{tasks}",
            f"orchestrator, {tasks} task{'s' if tasks > 1 else ''}",
            "orchestrator",
            graph_runner("orchestrator", [{"message": billing_message(tasks)}]),
            context={"max_tasks": max(tasks, Context().max_tasks)},
            check=expect_tasks(tasks),
        )
        for tasks in sizes.orchestrator_tasks
    ]


PRODUCT_FAMILIES = {
    "Volta home batteries": ("Volta 5", "Volta 10", "Volta 15"),
    "Helios solar kits": ("Helios S", "Helios M", "Helios L"),
    "Breeze wind turbines": ("Breeze 2", "Breeze 4", "Breeze 6"),
}
PRODUCT_FACTS = (
    "The {product} stores {n} kilowatt-hours of energy.",
    "The {product} carries a warranty of {years} years.",
    "The {product} weighs {kilograms} kilograms.",
    "Installing the {product} takes {hours} hours.",
    "The {product} costs {dollars} dollars.",
    "The {product} works between minus {degrees} and forty degrees.",
    "Customers in {region} regions buy the {product} most.",
)
LESSON_FAQ_SIZE = 10
"""The lesson's FAQ size: up to it the FAQ scenarios use the lesson's pages (the offline model draws about 14
distinct questions from them); above it, product sheets written for the benchmark."""


def product_sheets() -> list[dict[str, str]]:
    """Return three product sheets of 21 facts each, written for the benchmark: room for 50 distinct questions."""
    regions = ("coastal", "mountain", "northern", "southern")
    sheets = []
    number = 0
    for title, products in PRODUCT_FAMILIES.items():
        facts = []
        for product in products:
            for fact in PRODUCT_FACTS:
                number += 1
                facts.append(
                    fact.format(
                        product=product,
                        n=5 + number,
                        years=2 + number % 9,
                        kilograms=30 + number,
                        hours=2 + number % 5,
                        dollars=1000 + 97 * number,
                        degrees=10 + number % 15,
                        region=regions[number % len(regions)],
                    )
                )
        sheets.append({"title": title, "content": " ".join(facts)})
    return sheets


def faq_input(questions: int) -> dict[str, Any]:
    """Return the FAQ chain's input for N questions: the lesson's pages up to the lesson's N, else product sheets."""
    if questions <= LESSON_FAQ_SIZE:
        return {"num_questions": questions}
    return {"num_questions": questions, "documents": product_sheets()}


def faq_scenarios(sizes: Sizes) -> list[Scenario]:
    """The FAQ chain with N questions; the largest N also with the per-run bound raised to its branches."""
    scenarios = []
    widest = max(sizes.faq_questions)
    for questions in sizes.faq_questions:
        source = "lesson pages" if questions <= LESSON_FAQ_SIZE else "product sheets"
        run = graph_runner("faq_chain", [faq_input(questions)])
        scenarios.append(
            Scenario(
                f"faq_chain/{questions}",
                f"FAQ chain, {questions} questions ({source})",
                "faq",
                run,
                check=expect_items(questions),
            )
        )
        if questions == widest:
            scenarios.append(
                Scenario(
                    f"faq_chain/{questions}/max_concurrency={questions}",
                    f"FAQ chain, {questions} questions, max_concurrency {questions}",
                    "faq",
                    run,
                    context={"max_concurrency": questions},
                    check=expect_items(questions),
                )
            )
    return scenarios


def routing_scenarios(sizes: Sizes) -> list[Scenario]:
    """The router over the labelled set's queries, 1, 8 and 64 runs at a time."""
    payloads = routing_queries(sizes.routing_queries)
    return [
        Scenario(
            f"routing/c{at_once}",
            f"routing, {len(payloads)} queries, {at_once} at a time",
            "routing",
            graph_runner("routing", payloads, at_once),
            at_once=at_once,
            check=expect_replies,
            baseline="routing",
        )
        for at_once in sizes.routing_concurrency
    ]


def parallel_scenarios(sizes: Sizes) -> list[Scenario]:
    """Runs at once in one process: routing, and one FAQ-chain run against several at once.

    As many routing runs as the widest routing scenario lets go at a time start together; the FAQ chain's pair
    shows how far apart the walls of one run and several at once are.
    """
    questions = sizes.faq_questions[0]
    payload = faq_input(questions)
    runs = sizes.parallel_runs
    at_once = max(sizes.routing_concurrency)
    return [
        Scenario(
            f"parallel/routing/{at_once}",
            f"routing, {at_once} runs at once",
            "parallel",
            graph_runner("routing", routing_queries(at_once), at_once),
            at_once=at_once,
            check=expect_replies,
        ),
        Scenario(
            f"parallel/faq_chain/{questions}x1",
            f"FAQ chain ({questions}), 1 run alone",
            "parallel",
            graph_runner("faq_chain", [payload]),
            check=expect_items(questions),
        ),
        Scenario(
            f"parallel/faq_chain/{questions}x{runs}",
            f"FAQ chain ({questions}), {runs} runs at once",
            "parallel",
            graph_runner("faq_chain", [payload] * runs, runs),
            at_once=runs,
            check=expect_items(questions),
        ),
    ]


def load_benchmark(name: str) -> ModuleType | None:
    """Import benchmarks/NAME.py from the checkout, or return None where it is not (an installed package)."""
    return _load_script(BENCHMARKS / f"{name}.py")


@cache
def _load_script(path: Path) -> ModuleType | None:
    spec = util.spec_from_file_location(f"benchmarks_{path.stem}", path) if path.is_file() else None
    if spec is None or spec.loader is None:
        return None
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def canon_scenarios(sizes: Sizes) -> list[Scenario]:
    """The canon patterns' benchmark scripts, run on the bench's model: their timed_run()s as scenarios."""
    scenarios = []
    sectioning = load_benchmark("sectioning")
    if sectioning is not None:
        screens = sizes.sectioning_screens

        async def sections(context: "Context") -> list[dict[str, Any]]:
            await sectioning.timed_run(screens, context.max_concurrency, context.chat_model)
            return []

        scenarios.append(
            Scenario(
                f"canon/sectioning/{screens}",
                f"sectioning, {screens} screens (benchmarks/)",
                "canon",
                sections,
            )
        )
    voting = load_benchmark("voting")
    if voting is not None:

        async def vote(context: "Context") -> list[dict[str, Any]]:
            await voting.timed_vote(model=context.chat_model)
            return []

        scenarios.append(Scenario("canon/voting", "voting, one vote (benchmarks/)", "canon", vote))
    loop = load_benchmark("evaluator_optimizer")
    if loop is not None:

        async def revise(context: "Context") -> list[dict[str, Any]]:
            run = await loop.timed_run("forgetting writer", context.chat_model)
            return [{"rounds": len(run.scores), "passed": run.passed}]

        scenarios.append(
            Scenario(
                "canon/evaluator_optimizer",
                "evaluator-optimizer, forgetting writer (benchmarks/)",
                "canon",
                revise,
                base=loop.ForgettingWriter,
                check=lambda results: [] if results[0]["rounds"] > 1 else ["the writer passed in one round"],
            )
        )
    return scenarios


# --- Engine overhead, start-up and memory -----------------------------------------------------------------------


async def _step_widths(graph: "Graph", payload: dict[str, Any], context: "Context") -> list[int]:
    """Return how many tasks each step of a run of `graph` ran (LangGraph's debug stream)."""
    per_step: dict[int, int] = defaultdict(int)
    async for event in graph.astream(payload, context=context, stream_mode="debug"):
        if event["type"] == "task":
            per_step[event["step"]] += 1
    return [per_step[step] for step in sorted(per_step)]


def bare_graph(widths: Sequence[int]) -> "Graph":
    """Return a StateGraph of trivial async nodes in steps of these widths, each step waiting for the last."""
    import operator
    from typing import Annotated

    from langgraph.graph import END, START, StateGraph
    from typing_extensions import TypedDict

    class BareState(TypedDict, total=False):
        seen: Annotated[list[int], operator.add]

    async def visit(state: BareState) -> dict[str, Any]:
        return {"seen": [1]}

    builder = StateGraph(BareState)
    previous: list[str] = [START]
    for step, count in enumerate(widths):
        names = [f"n{step}_{n}" for n in range(count)]
        for name in names:
            builder.add_node(name, visit)
            builder.add_edge(previous if len(previous) > 1 else previous[0], name)
        previous = names
    builder.add_edge(previous if len(previous) > 1 else previous[0], END)
    return builder.compile()


async def _best_of(repeats: int, graph: "Graph", payload: dict[str, Any], context: "Context | None" = None) -> float:
    """Return the shortest wall time of `repeats` runs of `graph` on `payload`."""
    times = []
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        await graph.ainvoke(payload, context=context)
        times.append(time.perf_counter() - started)
    return min(times)


async def overhead(bench: Bench) -> list[dict[str, Any]]:
    """Time each workflow on a model that answers at once against bare LangGraph with as many nodes, per node.

    The model answers from the cache (filled by the first, untimed run), so what is left is what the project
    adds around the calls: building models, the guard, prompts, parsing, checks, state.
    """
    from state.context import Context

    rows = []
    for name, workflow in WORKFLOWS.items():
        graph = workflow.load()
        payload = workflow.inputs(None, questions=bench.sizes.catalog_questions if workflow.count_key else None)[0]
        scenario = Scenario(f"overhead/{name}", name, "overhead", graph_runner(name, [payload]))
        log = CallLog()
        context = Context(chat_model=bench.model(scenario, log, timed=False))
        hops = bench.pool.submitted
        widths = await _step_widths(graph, payload, context)
        nodes, calls, hops = sum(widths), len(log.calls), bench.pool.submitted - hops
        ours = await _best_of(bench.sizes.overhead_repeats, graph, payload, context)
        plain = await _best_of(bench.sizes.overhead_repeats, bare_graph(widths), {})
        rows.append(
            {
                "workflow": name,
                "nodes": nodes,
                "steps": len(widths),
                "model_calls": calls,
                "thread_hops": hops,
                "run_ms": round(ours * 1000, 2),
                "bare_langgraph_ms": round(plain * 1000, 2),
                "per_node_ms": round(ours * 1000 / nodes, 3),
                "bare_per_node_ms": round(plain * 1000 / nodes, 3),
                "overhead_per_node_ms": round((ours - plain) * 1000 / nodes, 3),
            }
        )
        bench.report(f"overhead {name}: {rows[-1]['overhead_per_node_ms']:.2f} ms per node over bare LangGraph")
    return rows


def startup(repeats: int, own_cache: bool = True) -> dict[str, Any]:
    """Time `workflows list` in fresh processes, `repeats` times; the best is what a user sees.

    With `own_cache`, bytecode goes to a temporary folder (never the checkout) and is written even where the
    environment says not to (PYTHONDONTWRITEBYTECODE), as an installed package has it: a first, untimed start
    fills it (its time is reported apart). Without, processes start as this environment makes them.
    """
    import statistics
    import subprocess
    import tempfile

    script = Path(sys.executable).with_name("workflows")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "graphs.cli"]
    with tempfile.TemporaryDirectory(prefix="workflows-bench-") as folder:
        environment = {**os.environ, "LANGSMITH_TRACING": "false"}
        if own_cache:
            environment.pop("PYTHONDONTWRITEBYTECODE", None)
            environment["PYTHONPYCACHEPREFIX"] = folder

        def once() -> float:
            started = time.perf_counter()
            subprocess.run([*command, "list"], capture_output=True, env=environment, timeout=60, check=True)
            return time.perf_counter() - started

        first = once() if own_cache else None
        times = [once() for _ in range(max(1, repeats))]
    return {
        "command": "workflows list",
        "best_seconds": round(min(times), 3),
        "median_seconds": round(statistics.median(times), 3),
        "runs": len(times),
        "first_seconds_compiling": None if first is None else round(first, 3),
    }


async def memory(bench: Bench) -> dict[str, Any]:
    """Measure the Python memory the largest scenarios hold at their peak (tracemalloc), and the process's peak RSS."""
    import resource
    import tracemalloc

    from state.context import Context

    sizes = bench.sizes
    at_once = max(sizes.routing_concurrency)
    workloads = [
        (f"routing, {at_once} runs at once", graph_runner("routing", routing_queries(at_once), at_once)),
        (
            f"FAQ chain, {max(sizes.faq_questions)} questions",
            graph_runner("faq_chain", [faq_input(max(sizes.faq_questions))]),
        ),
    ]
    peaks = {}
    for title, runner in workloads:
        scenario = Scenario("memory", title, "memory", runner)
        await runner(Context(chat_model=bench.model(scenario, CallLog(), timed=False)))
        tracemalloc.start()
        try:
            await runner(Context(chat_model=bench.model(scenario, CallLog(), timed=True)))
            peaks[title] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        finally:
            tracemalloc.stop()
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    return {"peak_traced_mb": peaks, "process_peak_rss_mb": round(rss, 1)}


# --- Targets (issue 10) ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A figure the bench should reach (issue 10's targets)."""

    title: str
    figure: Callable[["Results"], float | None]
    limit: float
    at_most: bool = False
    """True: the figure must stay at or under the limit; False: reach at least the limit."""

    def judge(self, results: "Results") -> dict[str, Any] | None:
        """Return the measured figure against the limit, or None when the bench did not measure it."""
        value = self.figure(results)
        if value is None:
            return None
        met = value <= self.limit if self.at_most else value >= self.limit
        return {
            "target": self.title,
            "limit": f"{'<=' if self.at_most else '>='} {self.limit:g}",
            "measured": round(value, 3),
            "met": met,
            "missed_by": 0.0 if met else round(abs(value - self.limit), 3),
        }


@dataclass
class Results:
    """Everything one bench run measured."""

    sizes: Sizes
    scenarios: list[Measured] = field(default_factory=list)
    overhead: list[dict[str, Any]] = field(default_factory=list)
    startup: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def scenario(self, key: str) -> Measured | None:
        """Return the scenario measured under `key`, if it ran."""
        return next((m for m in self.scenarios if m.key == key), None)

    def figure(self, key: str, name: str) -> float | None:
        """Return a scenario's figure (an attribute of Measured), None if it did not run."""
        measured = self.scenario(key)
        return None if measured is None else float(getattr(measured, name))

    def runs_at_once_ratio(self) -> float | None:
        """Return the wall of several FAQ-chain runs at once over one run's (the parallel group)."""
        faq = [m for m in self.scenarios if m.group == "parallel" and m.key.startswith("parallel/faq_chain/")]
        return faq[1].wall / faq[0].wall if len(faq) == 2 and faq[0].wall else None


def _worst_overhead(results: Results) -> float | None:
    return max((row["overhead_per_node_ms"] for row in results.overhead), default=None)


TARGETS = (
    Target("FAQ chain, 10 questions: efficiency", lambda r: r.figure("faq_chain/10", "efficiency"), 0.9),
    Target("orchestrator, 10 tasks: efficiency", lambda r: r.figure("orchestrator/10", "efficiency"), 0.9),
    Target("FAQ chain, 10 questions: speedup over the lesson's loop", lambda r: r.figure("faq_chain/10", "speedup"), 6),
    Target(
        "orchestrator, 10 tasks: speedup over the lesson's loop", lambda r: r.figure("orchestrator/10", "speedup"), 3.5
    ),
    Target(
        "4 FAQ-chain runs at once: wall over one run's",
        lambda r: r.runs_at_once_ratio() if r.sizes.parallel_runs == 4 else None,
        1.3,
        at_most=True,
    ),
    Target("64 routing runs at once: efficiency", lambda r: r.figure("parallel/routing/64", "efficiency"), 0.8),
    Target("engine overhead per node over bare LangGraph (worst workflow), ms", _worst_overhead, 1.0, at_most=True),
    Target("`workflows list` start-up (best of the runs), s", lambda r: r.startup.get("best_seconds"), 0.3, True),
)


# --- Running and reporting ---------------------------------------------------------------------------------------


SCENARIOS: dict[str, Callable[[Sizes], list[Scenario]]] = {
    "catalog": catalog_scenarios,
    "orchestrator": orchestrator_scenarios,
    "faq": faq_scenarios,
    "routing": routing_scenarios,
    "parallel": parallel_scenarios,
    "canon": canon_scenarios,
}


def chosen(scenario: Scenario, only: Sequence[str] | None) -> bool:
    """Tell whether `--only` picks the scenario: by its group, its key, or a key it falls under ("faq_chain/10")."""
    return only is None or any(
        name in (scenario.group, scenario.key) or scenario.key.startswith(f"{name}/") for name in only
    )


def scenarios_of(sizes: Sizes, only: Sequence[str] | None = None) -> list[Scenario]:
    """Return the scenarios `--only` picks (all without it), in GROUPS order; refuse a name that picks nothing."""
    every = [scenario for group in GROUPS if group in SCENARIOS for scenario in SCENARIOS[group](sizes)]
    for name in only or ():
        if name not in GROUPS and not any(chosen(scenario, [name]) for scenario in every):
            raise UsageError(
                f"--only {name}: no such group or scenario; groups: {', '.join(GROUPS)}; scenarios: "
                + ", ".join(scenario.key for scenario in every)
            )
    return [scenario for scenario in every if chosen(scenario, only)]


async def run_bench(sizes: Sizes, only: Sequence[str] | None = None, report: Callable[[str], None] = print) -> Results:
    """Run the scenarios and measurements `only` picks (groups or scenario keys; all when None), in GROUPS order."""
    bench = Bench(sizes, report)
    asyncio.get_running_loop().set_default_executor(bench.pool)
    results = Results(sizes)
    for scenario in scenarios_of(sizes, only):
        results.scenarios.append(await bench.measure(scenario))
    if (only is None or "canon" in only) and not canon_scenarios(sizes):
        results.notes.append(f"canon benchmarks skipped: {BENCHMARKS} is not here (run from a checkout)")
    if only is None or "overhead" in only:
        results.overhead = await overhead(bench)
    if only is None or "startup" in only:
        results.startup = startup(sizes.startup_repeats, sizes.startup_cache)
        report(f"`workflows list` start-up: best {results.startup['best_seconds']:.2f} s")
    if only is None or "memory" in only:
        results.memory = await memory(bench)
        report(f"memory: {results.memory}")
    return results


def environment() -> dict[str, Any]:
    """Say where the figures come from: versions, cores, the machine's load."""
    import platform
    from importlib.metadata import version

    return {
        "python": platform.python_version(),
        "langgraph": version("langgraph"),
        "langchain_core": version("langchain-core"),
        "cpus": os.cpu_count(),
        "load_average": [round(load, 2) for load in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


def as_json(results: Results, started: dict[str, Any]) -> dict[str, Any]:
    """Return the whole run as JSON-ready data, the targets judged."""
    sizes = results.sizes
    return {
        "model": {"latency_seconds": sizes.latency, "token_latency_seconds": sizes.token_latency},
        "environment": {**started, "load_average_after": environment()["load_average"]},
        "scenarios": [m.as_dict() for m in results.scenarios],
        "overhead": results.overhead,
        "startup": results.startup,
        "memory": results.memory,
        "targets": [judged for target in TARGETS if (judged := target.judge(results)) is not None],
        "notes": results.notes,
    }


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """Lay out rows under a header; the first `left` columns flush left, the rest right."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [str(cell).ljust(w) if i < left else str(cell).rjust(w) for i, (cell, w) in pairs]
        return "  ".join(cells).rstrip()

    return [line(header), *(line(row) for row in rows)]


def render(data: dict[str, Any]) -> str:
    """Return the terminal report: scenarios, overhead, start-up, memory and the targets."""
    model = data["model"]
    env = data["environment"]
    lines = [
        f"workflows bench: offline model answering after {model['latency_seconds'] * 1000:g} ms + "
        f"{model['token_latency_seconds'] * 1000:g} ms per output token; default settings unless named",
        f"Python {env['python']}, langgraph {env['langgraph']}, {env['cpus']} cores, load average "
        f"{env['load_average']} before, {env['load_average_after']} after",
        "",
    ]
    rows = []
    for s in data["scenarios"]:
        rows.append(
            [
                s["title"] + (" [!]" if s["problems"] else ""),
                str(s["model_calls"]),
                f"{s['input_tokens'] + s['output_tokens']:,}",
                f"{s['wall_seconds']:.2f}",
                f"{s['cpu_seconds']:.2f}",
                f"{s['floor_seconds']:.2f}",
                f"{s['efficiency']:.2f}",
                f"{s['sequential_seconds']:.2f}",
                f"{s['speedup']:.1f}x",
                f"{s['speedup_ceiling']:.1f}x",
                str(s["peak_calls_in_flight"]),
                str(s["widest_step_calls"]),
                str(s["max_concurrency"]),
            ]
        )
    if rows:
        header = ["scenario", "calls", "tokens", "wall s", "cpu s", "floor s", "eff", "loop s", "speedup", "ceiling"]
        lines += _table([*header, "peak", "width", "bound"], rows)
        lines += [
            "",
            "cpu: the process's CPU time meanwhile; floor: the least time these calls take given their latencies; "
            "eff = floor / wall;",
            "loop: the lesson's sequential loop (the same calls one after another); ceiling: the best speedup the "
            "calls allow;",
            "peak: most calls in flight at once; width: calls the widest steps could have in flight; bound: "
            "max_concurrency.",
        ]
        for s in data["scenarios"]:
            lines += [f"[!] {s['title']}: {problem}" for problem in s["problems"]]
    if data["overhead"]:
        lines += ["", "Engine overhead, model answering at once (best of the runs; hops: thread-pool items per run):"]
        lines += _table(
            [
                "workflow",
                "nodes",
                "calls",
                "thread hops",
                "run ms",
                "bare LangGraph ms",
                "per node ms",
                "overhead per node ms",
            ],
            [
                [
                    o["workflow"],
                    str(o["nodes"]),
                    str(o["model_calls"]),
                    str(o["thread_hops"]),
                    f"{o['run_ms']:.1f}",
                    f"{o['bare_langgraph_ms']:.1f}",
                    f"{o['per_node_ms']:.2f}",
                    f"{o['overhead_per_node_ms']:.2f}",
                ]
                for o in data["overhead"]
            ],
        )
    if data["startup"]:
        startup_ = data["startup"]
        lines += [
            "",
            f"`{startup_['command']}` start-up: best {startup_['best_seconds']:.2f} s, median "
            f"{startup_['median_seconds']:.2f} s of {startup_['runs']}"
            + (
                f" (the first, compiling its bytecode: {startup_['first_seconds_compiling']:.2f} s)"
                if startup_["first_seconds_compiling"] is not None
                else ""
            ),
        ]
    if data["memory"]:
        peaks = "; ".join(f"{title}: {mb} MB" for title, mb in data["memory"]["peak_traced_mb"].items())
        rss = data["memory"]["process_peak_rss_mb"]
        lines += ["", f"Peak Python memory (tracemalloc): {peaks}; the bench process's peak RSS {rss} MB"]
    if data["targets"]:
        lines += ["", "Targets (issue 10):"]
        lines += _table(
            ["target", "limit", "measured", ""],
            [
                [t["target"], t["limit"], f"{t['measured']:g}", "met" if t["met"] else f"missed by {t['missed_by']:g}"]
                for t in data["targets"]
            ],
        )
    lines += [f"note: {note}" for note in data["notes"]]
    return "\n".join(lines)


def add_bench_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `bench` subcommand."""
    bench = commands.add_parser(
        "bench",
        help="time every workflow on a model with a simulated response time, against the lesson's sequential loop",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.add_argument("--quick", action="store_true", help="tiny sizes and latencies: a smoke run of a few seconds")
    bench.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="write the figures as JSON to FILE (the table still prints), or to stdout instead of the table",
    )
    bench.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only this group ({', '.join(GROUPS)}) or scenario (its key in the JSON, as faq_chain/10); "
        "repeatable",
    )
    bench.add_argument("--latency", type=float, metavar="SECONDS", help=f"seconds per model call (default {LATENCY})")
    bench.add_argument(
        "--token-latency",
        type=float,
        metavar="SECONDS",
        help=f"seconds per output token on top (default {TOKEN_LATENCY})",
    )
    bench.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")


def _sizes(args: argparse.Namespace) -> Sizes:
    sizes = QUICK if args.quick else FULL
    for option, value in (("--latency", args.latency), ("--token-latency", args.token_latency)):
        if value is not None and not (0 <= value <= 10):
            raise UsageError(f"{option} takes seconds from 0 to 10, got {value:g}")
    return replace(
        sizes,
        latency=sizes.latency if args.latency is None else args.latency,
        token_latency=sizes.token_latency if args.token_latency is None else args.token_latency,
    )


def run(args: argparse.Namespace) -> int:
    """Run `workflows bench`; return the exit code (1 when a scenario did not do what it claims)."""
    sizes = _sizes(args)
    target = None if args.json in (None, "-") else Path(args.json).expanduser()
    if target is not None and not target.parent.is_dir():
        raise UsageError(f"cannot write {target}: the folder {target.parent} does not exist")

    def progress(line: str) -> None:
        if not args.quiet:
            print(f"bench: {line}", file=sys.stderr, flush=True)

    scenarios_of(sizes, args.only)  # an unknown name is refused before anything runs
    started = environment()
    results = asyncio.run(run_bench(sizes, args.only, progress))
    data = as_json(results, started)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if args.json == "-":
        print(text)
    else:
        print(render(data))
    if target is not None:
        try:
            target.write_text(text + "\n", encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot write {target}: {error.strerror or error}") from None
    return RUN_ERROR if any(s["problems"] for s in data["scenarios"]) else 0
