"""Tokens and cost of model calls, per node and per run, and the run's budget (`Context.max_tokens`/`max_cost`).

A `UsageMeter` is a LangChain callback handler: passed in a run's `callbacks` it sees every chat-model call of
every node, whatever the provider, and refuses to start a call once the run's budget is spent. A run whose
caller passed none (Python, Studio) but whose Context sets a budget gets one from `chat_model()`, kept per
Context object, so every graph has budgets without any node knowing about them.
"""

import threading
import weakref
from dataclasses import asdict, dataclass, fields
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult

from nodes.llm.errors import ModelCallError
from nodes.llm.prices import PRICES_DATE, PRICES_VARIABLE, Price, load_prices, price_of
from state.context import Context

OUTSIDE_A_GRAPH = "(no node)"
"""The node name counted for a model call made outside a graph run."""


@dataclass
class Usage:
    """What model calls used: calls, tokens (output includes thinking) and cost in US dollars."""

    calls: int = 0
    failed_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    """Everything the model wrote, its thinking included (Gemini bills thinking as output)."""
    thinking_tokens: int = 0
    """The part of `output_tokens` the model spent thinking (Gemini 2.5's usage output_token_details.reasoning)."""
    cost: float | None = 0.0
    """None once a call was made on a model whose price is unknown."""

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    @property
    def none_answered(self) -> bool:
        """Whether calls were made and every one failed: what they were for came from fallbacks, not a model."""
        return self.calls > 0 and self.failed_calls >= self.calls

    def add(self, other: "Usage") -> None:
        """Add `other`'s counts to these."""
        for name in ("calls", "failed_calls", "input_tokens", "output_tokens", "thinking_tokens"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.cost = None if self.cost is None or other.cost is None else self.cost + other.cost

    def as_dict(self) -> dict[str, Any]:
        """Return the counts as JSON-ready data, with `total_tokens` and the cost rounded to 1e-6 dollars."""
        data = asdict(self)
        data["total_tokens"] = self.total_tokens
        data["cost"] = None if self.cost is None else round(self.cost, 6)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Usage":
        """Rebuild counts saved with `as_dict` (unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


class BudgetSpent(RuntimeError):  # noqa: N818 - named for what happened, as KeyboardInterrupt is
    """The run's token or cost budget is spent; raised instead of starting another model call.

    It stops the run rather than failing one call: nodes that turn a failed call into a fallback (a follow-up
    promise, a plain email, a failed question) catch the model layer's own errors (`ModelCallError`), never a bare
    Exception, so the stop reaches the caller. A RuntimeError, not a BaseException like KeyboardInterrupt:
    LangGraph's server (`langgraph dev`, Studio) ends a run whose node raised an Exception with that error (and
    shows the message of a RuntimeError, where it hides other types' as "An internal error occurred"), but a
    BaseException kills its background worker and leaves the run "running" for good. LangGraph keeps the steps
    that finished, so a checkpointed thread can be resumed with a larger budget.
    """

    def __init__(self, reason: str, node: str) -> None:
        """Say which limit was reached and which node was about to call the model."""
        super().__init__(f"{reason}; stopped before {node}'s model call")
        self.reason = reason
        self.node = node


class BudgetRefusal(Exception):  # noqa: N818 - it carries a refusal, not an error of its own
    """A call the budget refused after it was under way, carried as an Exception to the code that asked.

    langchain-core hands a provider call's exceptions on only when they are Exceptions (a BaseException raised
    there breaks its bookkeeping), so `UsageMeter.admit`'s BudgetSpent travels inside this, and
    `nodes.llm.replies` raises `stop` again where the node asked for the reply.
    """

    def __init__(self, stop: BudgetSpent) -> None:
        """Carry `stop`."""
        super().__init__(str(stop))
        self.stop = stop


class UsageMeter(BaseCallbackHandler):
    """Count calls, tokens and cost per node and per task, and stop the run when its budget is spent.

    Pass it as `config={"callbacks": [meter]}`. `spent` is what earlier runs of the same thread used: it counts
    towards the budget (so a resumed thread keeps its limit) but not towards `by_node`.
    """

    run_inline = True
    """Called on the event loop, in order: the budget check sees every call that finished before it."""
    raise_error = True
    """Let BudgetSpent out of `on_chat_model_start`, which is what stops the call."""

    def __init__(
        self,
        max_tokens: int | None = None,
        max_cost: float | None = None,
        spent: Usage | None = None,
        prices: dict[str, Price] | None = None,
    ) -> None:
        """Start from `spent` (default nothing) with the given limits (None: no limit)."""
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.spent = spent or Usage()
        self.prices = load_prices() if prices is None else prices
        self.by_node: dict[str, Usage] = {}
        """Node name -> what its calls used (all tasks of a fan-out node together)."""
        self.by_task: dict[str, Usage] = {}
        """LangGraph task id -> what that task's calls used (one fan-out branch, or one node run)."""
        self.models: dict[str, str] = {}
        """Node -> the model name its calls were priced by."""
        self._calls: dict[UUID, tuple[str, str, str | None]] = {}
        self._settled: set[UUID] = set()
        """Calls whose tokens `settle` counted already, so their `on_llm_end` adds nothing."""
        self._lock = threading.Lock()

    @classmethod
    def for_context(cls, context: Context, spent: Usage | None = None) -> "UsageMeter":
        """Return a meter with the budget of `context`."""
        return cls(max_tokens=context.max_tokens, max_cost=context.max_cost, spent=spent)

    def run_total(self) -> Usage:
        """Return what this meter counted (the calls it saw), all nodes together."""
        total = Usage()
        with self._lock:
            for usage in self.by_node.values():
                total.add(usage)
        return total

    def total(self) -> Usage:
        """Return what counts towards the budget: `spent` plus this meter's calls."""
        total = Usage()
        total.add(self.spent)
        total.add(self.run_total())
        return total

    def over_budget(self) -> str | None:
        """Say which limit is reached, or None while the run may call the model again."""
        total = self.total()
        if self.max_tokens is not None and total.total_tokens >= self.max_tokens:
            return f"the token budget is spent ({total.total_tokens:,} tokens used, max_tokens={self.max_tokens:,})"
        if self.max_cost is not None:
            if total.cost is None:
                return (
                    f"the cost budget cannot be kept: a model's price is unknown (add it to ${PRICES_VARIABLE}); "
                    f"max_cost=${self.max_cost:g}"
                )
            if total.cost >= self.max_cost:
                return f"the cost budget is spent (${total.cost:.6f} used, max_cost=${self.max_cost:g})"
        return None

    def check(self, node: str) -> None:
        """Raise BudgetSpent if `node` may not call the model again."""
        reason = self.over_budget()
        if reason is not None:
            raise BudgetSpent(reason, node)

    def admit(self, run_id: UUID) -> None:
        """Check the budget again as a counted call is about to reach the provider; raise BudgetRefusal if spent.

        A run's calls wait for one of its `max_concurrency` slots after `on_chat_model_start` let them through:
        what the calls before them used while they waited counts, so one call at a time stops at the budget.
        """
        with self._lock:
            node = self._calls.get(run_id, (OUTSIDE_A_GRAPH, "", None))[0]
        try:
            self.check(node)
        except BudgetSpent as stop:
            raise BudgetRefusal(stop) from None

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Refuse the call when the budget is spent; otherwise count it for its node and task."""
        metadata = metadata or {}
        node = str(metadata.get("langgraph_node", OUTSIDE_A_GRAPH))
        self.check(node)
        # "plan:<task id>", or "parent:<id>|node:<task id>" in a subgraph: the last part names this task.
        task = str(metadata.get("langgraph_checkpoint_ns", "")).rpartition("|")[2].rpartition(":")[2]
        invocation = kwargs.get("invocation_params") or {}
        model = metadata.get("ls_model_name") or invocation.get("model") or invocation.get("_type")
        with self._lock:
            self._calls[run_id] = (node, task, str(model) if model else None)
            self._record(node, task, Usage(calls=1))

    def settle(self, run_id: UUID, response: LLMResult) -> None:
        """Count a call's tokens as soon as the provider answers, before the call gives up its slot.

        The next call of the run, waiting for that slot, is then admitted (`admit`) with them counted.
        """
        self.on_llm_end(response, run_id=run_id)
        with self._lock:
            self._settled.add(run_id)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """Add the tokens the provider reported, and their price; a provider that reports none adds nothing."""
        with self._lock:
            if run_id in self._settled:
                self._settled.discard(run_id)
                return
            node, task, model = self._calls.pop(run_id, (OUTSIDE_A_GRAPH, "", None))
        for generations in response.generations:
            for generation in generations:
                message = getattr(generation, "message", None)
                counts = getattr(message, "usage_metadata", None)
                if not counts:
                    continue
                named = (getattr(message, "response_metadata", None) or {}).get("model_name") or model
                price = price_of(named, self.prices)
                call = Usage(
                    input_tokens=counts.get("input_tokens", 0),
                    output_tokens=counts.get("output_tokens", 0),
                    thinking_tokens=(counts.get("output_token_details") or {}).get("reasoning", 0) or 0,
                )
                call.cost = None if price is None else price.cost(call.input_tokens, call.output_tokens)
                with self._lock:
                    if named:
                        self.models[node] = str(named)
                    self._record(node, task, call)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Count a failed call (it was counted as a call when it started); a call `admit` refused was none.

        A reply the client could not read ("unreadable_output") was answered, so it is a call that did not fail,
        as any other unusable reply is: its node asks again or falls back, and says so.
        """
        with self._lock:
            node, task, _ = self._calls.pop(run_id, (OUTSIDE_A_GRAPH, "", None))
            if isinstance(error, ModelCallError) and error.kind == "unreadable_output":
                return
            refused = isinstance(error, BudgetRefusal)
            self._record(node, task, Usage(calls=-1) if refused else Usage(failed_calls=1))

    def _record(self, node: str, task: str, delta: Usage) -> None:
        self.by_node.setdefault(node, Usage()).add(delta)
        if task:
            self.by_task.setdefault(task, Usage()).add(delta)


_meters: dict[int, UsageMeter] = {}
"""id(Context) -> the meter of runs that brought no meter of their own; dropped when the Context is."""


def meter_for(context: Context) -> UsageMeter:
    """Return the meter that enforces `context`'s budget for runs without one in their callbacks.

    Kept per Context object: LangGraph hands every node of a run the same one (Studio builds one per run), so
    the budget covers the run. Runs that share a Context object from Python share its budget.
    """
    key = id(context)
    if key not in _meters:
        _meters[key] = UsageMeter.for_context(context)
        weakref.finalize(context, _meters.pop, key, None)
    return _meters[key]


def watch(context: Context, node: str) -> None:
    """Make the current node's model calls count towards the run's budget, and stop it if that is spent.

    Called by `chat_model()` inside a node. A meter already among the run's callbacks (the CLI passes one) is
    used as is; otherwise, when the Context sets a budget, its `meter_for` meter is added to this node's
    callbacks. Outside a graph run (a node called directly in a test) there is nothing to watch.
    """
    from langgraph.config import get_config

    try:
        config = get_config()
    except RuntimeError:
        return
    manager = config.get("callbacks")
    handlers = manager.handlers if isinstance(manager, BaseCallbackManager) else list(manager or [])
    meter = next((handler for handler in handlers if isinstance(handler, UsageMeter)), None)
    if meter is None:
        if context.max_tokens is None and context.max_cost is None:
            return
        meter = meter_for(context)
        if isinstance(manager, BaseCallbackManager):
            manager.add_handler(meter, inherit=True)
    meter.check(node)


def prices_note() -> str:
    """Say where the prices come from, for a usage table's footer."""
    return f"Gemini list prices of {PRICES_DATE}, US dollars; ${PRICES_VARIABLE}=FILE overrides them"
