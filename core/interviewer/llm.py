"""LLM calls through LiteLLM: streamed text and validated JSON, with timeouts, retries and fallbacks.

The only module that imports litellm, and only when a call is about to happen: the import takes ~6 s, which the
offline interviewer must never pay. Every call is streamed (JSON calls too), so a timeout or a consumer that gives
up closes the HTTP request and a model server stops generating for it: no abandoned attempt keeps running while a
retry starts. Limits per call: `timeout` to the first token, `stream_timeout` between tokens, and the whole call
`timeout + max_tokens / min_tokens_per_s`. Retries (tenacity) and fallback models happen only before the first
token reaches a reader. Every failure is one InterviewerError.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from core.interviewer.errors import InterviewerError

T = TypeVar("T")
ModelT = TypeVar("ModelT", bound=BaseModel)

# Backoff before retry n (0-based): RETRY_BASE_DELAY_S * 2**n, plus up to 25 % jitter.
RETRY_BASE_DELAY_S = 0.2
# A longer Retry-After is cut to this: an interview turn cannot wait for minutes.
MAX_RETRY_AFTER_S = 5.0
# complete_json asks again this many times when the reply does not fit the schema.
INVALID_OUTPUT_RETRIES = 1

log = logging.getLogger(__name__)
_litellm: Any = None
_import_lock = threading.Lock()
_unpriced_models: set[str] = set()
_schema_support: dict[str, bool] = {}


# Connection and model parameters for one kind of call.
@dataclass(frozen=True)
class LLMSettings:
    model: str
    api_base: str | None = None
    api_key: str | None = None
    timeout: float = 30.0  # seconds to the first token (connect included)
    stream_timeout: float = 20.0  # seconds allowed between two tokens
    min_tokens_per_s: float = 2.0  # the whole call may last timeout + max_tokens / min_tokens_per_s
    num_retries: int = 2  # on 429, 5xx, timeouts and connection errors, with backoff, before the first token
    temperature: float = 0.4
    max_tokens: int = 200
    fallbacks: tuple[Any, ...] = ()  # LiteLLM model strings, or dicts {"model": ..., "api_base": ..., "api_key": ...}

    @property
    def call_limit_s(self) -> float:
        return self.timeout + self.max_tokens / self.min_tokens_per_s

    def fallback_settings(self) -> list[LLMSettings]:
        """Settings for each fallback model: its own api_base/api_key when given, else the provider's environment."""
        out = []
        for fallback in self.fallbacks:
            spec = fallback if isinstance(fallback, dict) else {"model": str(fallback)}
            out.append(replace(self, model=spec["model"], api_base=spec.get("api_base"), api_key=spec.get("api_key"),
                               fallbacks=()))
        return out


# Tokens, cost and latency of one finished call (retries included).
@dataclass
class CallUsage:
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    latency_ms: int
    first_token_ms: int | None = None
    finish_reason: str | None = None


def litellm_loaded() -> bool:
    return "litellm" in sys.modules


def _shared_http_client() -> Any:
    """Our pooled client (see llm_http) with LiteLLM's TLS and HTTP/2 settings."""
    from litellm.llms.custom_httpx.http_handler import get_ssl_configuration, http2_enabled

    from core.interviewer.llm_http import shared_client

    return shared_client(verify=get_ssl_configuration(), http2=http2_enabled())


def _success_logging_consumed(litellm: Any, logging_obj: Any) -> bool:
    """Whether litellm's success handler would feed anything: a callback (global or per call), a budget, a dump."""
    return bool(
        litellm.success_callback
        or litellm.callbacks
        or litellm._async_success_callback
        or litellm.max_budget
        or getattr(logging_obj, "dynamic_success_callbacks", None)
        or os.environ.get("LITELLM_PRINT_STANDARD_LOGGING_PAYLOAD")
    )


def _skip_unconsumed_success_logging(litellm: Any) -> None:
    """Drop litellm's per-call success-logging task while nothing consumes it.

    After every call (and at the end of every stream) litellm queues `Logging.success_handler` on its logging thread
    pool even without callbacks: it builds the standard logging payload and prices the response again, and no one
    reads the result (our tokens and cost come from the response). Measured: 0.5 ms of CPU per complete_json call,
    0.9 ms per stream_text call. The filter is checked per task, so a callback registered later is served. This
    relies on litellm internals: test_llm_overhead.py fails if the executor or the task's shape changes.
    """
    try:
        from litellm.litellm_core_utils import thread_pool_executor
        from litellm.litellm_core_utils.litellm_logging import Logging

        executor = thread_pool_executor.executor
        real_submit = executor.submit
    except (ImportError, AttributeError):
        log.warning("litellm's logging executor moved: success logging stays on", exc_info=True)
        return
    if getattr(real_submit, "_skips_unconsumed_logging", False):
        return

    def submit(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        task = args[0] if getattr(fn, "__name__", None) == "run" and args else fn  # contextvars ctx.run(handler, ...)
        handler_of = getattr(task, "__self__", None)
        if (
            isinstance(handler_of, Logging)
            and getattr(task, "__name__", None) == "success_handler"
            and not _success_logging_consumed(litellm, handler_of)
        ):
            return None  # litellm's callers ignore the Future
        return real_submit(fn, *args, **kwargs)

    submit._skips_unconsumed_logging = True  # type: ignore[attr-defined]
    executor.submit = submit


def _get_litellm() -> Any:
    """Import and configure litellm once: offline, quiet, no callbacks, no per-chunk logging, one pooled client."""
    global _litellm
    if _litellm is not None:
        return _litellm
    with _import_lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
            os.environ.setdefault("LITELLM_LOG", "ERROR")
            import litellm

            litellm.suppress_debug_info = True  # no "Give Feedback" banner per error
            litellm.num_retries = None  # retries are ours: see _with_retries
            litellm.callbacks = []
            litellm.input_callback = []
            litellm.success_callback = []
            litellm.failure_callback = []
            # Without callbacks, the logging task litellm queues for every streamed chunk (each runs its own
            # asyncio loop in the litellm-logging pool) has no consumer: 1-2 ms of CPU per streamed reply.
            litellm.disable_streaming_logging = True
            if litellm.client_session is None:  # used by the OpenAI SDK-based providers
                litellm.client_session = _shared_http_client()
            _skip_unconsumed_success_logging(litellm)
            for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
                logging.getLogger(name).setLevel(logging.WARNING)
            # The import leaves ~290k long-lived objects that every full collection walks again (~190 ms each;
            # 1.7 s of CPU in bench_api's 200-interview run, 0.6 s frozen). Freezing keeps whatever is alive
            # now out of all later collections: cycles among those objects are never reclaimed, a one-off cost.
            gc.collect()
            gc.freeze()
            _litellm = litellm
    return _litellm


def load() -> None:
    """Import and configure litellm now (a server does it at start-up, so no user's first turn waits for it)."""
    _get_litellm()


def _response_format(settings: LLMSettings, schema: type[BaseModel] | None) -> dict | None:
    """A JSON schema where the provider supports one (LiteLLM's supports_response_schema), JSON mode otherwise."""
    if schema is None:
        return None
    supported = _schema_support.get(settings.model)
    if supported is None:
        try:
            supported = bool(_get_litellm().supports_response_schema(model=settings.model))
        except Exception:  # unknown model or provider: JSON mode is the safe choice
            supported = False
        _schema_support[settings.model] = supported
    if supported:
        return {"type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": False}}
    return {"type": "json_object"}


def _completion(messages: list[dict], settings: LLMSettings, *, schema: type[BaseModel] | None = None) -> Any:
    """The one place that builds a LiteLLM call: always streamed, with max_tokens and the first-token timeout."""
    import httpx

    from core.interviewer.llm_http import stream_idle_timeout

    kwargs: dict[str, Any] = {
        "model": settings.model,
        "messages": messages,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        # connect and first byte; llm_http switches reads to stream_timeout once the first token has arrived
        "timeout": httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0)),
        # retries are ours (tenacity, before the first token): litellm and the OpenAI SDK would retry mid-stream
        "num_retries": 0,
        "max_retries": 0,
        "drop_params": True,  # providers without response_format still answer
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if settings.api_base:
        kwargs["api_base"] = settings.api_base
    if settings.api_key:
        kwargs["api_key"] = settings.api_key
    if (response_format := _response_format(settings, schema)) is not None:
        kwargs["response_format"] = response_format
    token = stream_idle_timeout.set(settings.stream_timeout)
    try:
        return _get_litellm().completion(**kwargs)
    finally:
        stream_idle_timeout.reset(token)


# -- errors, retries and fallbacks ----------------------------------------------------------------------------------


def _to_llm_error(exc: BaseException) -> InterviewerError:
    """Map a litellm, OpenAI SDK or httpx exception to an InterviewerError (the provider's text goes to `detail`)."""
    if isinstance(exc, InterviewerError):
        return exc
    # litellm's MidStreamFallbackError wraps the provider's exception
    original = getattr(exc, "original_exception", None)
    if isinstance(original, BaseException) and original is not exc:
        return _to_llm_error(original)
    import httpx
    import openai

    detail = str(exc)[:300] or type(exc).__name__
    status = getattr(exc, "status_code", None)
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return InterviewerError("timeout", detail)
    if isinstance(exc, openai.RateLimitError) or status == 429:
        return InterviewerError("rate_limited", detail)
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return InterviewerError("auth", detail, retryable=False)
    if "missing credentials" in detail.lower():  # no API key: the SDK refuses to send
        return InterviewerError("auth", detail, retryable=False)
    if status == 408:
        return InterviewerError("timeout", detail)
    if isinstance(exc, openai.BadRequestError) or (isinstance(status, int) and 400 <= status < 500):
        return InterviewerError("bad_request", detail, retryable=False)
    # 5xx, dropped connections, and anything unexpected from a provider adapter
    return InterviewerError("upstream_error", detail)


def _retry_after_s(exc: BaseException) -> float | None:
    exc = getattr(exc, "__cause__", None) or exc
    exc = getattr(exc, "original_exception", None) or exc
    headers = getattr(exc, "litellm_response_headers", None)
    if headers is None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    value = headers.get("retry-after") or headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP date: fall back to backoff


def _retry_delay_s(exc: BaseException, retry: int) -> float:
    retry_after = _retry_after_s(exc)
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER_S)
    return RETRY_BASE_DELAY_S * (2**retry) * (1 + 0.25 * random.random())


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    return _retry_delay_s(exc, state.attempt_number - 1) if exc else 0.0


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.info("LLM call failed (%s), retry %d", getattr(exc, "code", exc), state.attempt_number)


def _as_error(attempt: Callable[[LLMSettings], T]) -> Callable[[LLMSettings], T]:
    def run(settings: LLMSettings) -> T:
        try:
            return attempt(settings)
        except InterviewerError:
            raise
        except Exception as exc:
            raise _to_llm_error(exc) from exc

    return run


def _with_retries(attempt: Callable[[LLMSettings], T], settings: LLMSettings) -> T:
    """`attempt(settings)` with up to settings.num_retries retries of retryable failures (tenacity), then each
    fallback model the same way; the last error is raised."""
    candidates = [settings, *settings.fallback_settings()]
    for index, current in enumerate(candidates):
        retrying = Retrying(stop=stop_after_attempt(current.num_retries + 1), wait=_wait, reraise=True,
                            retry=retry_if_exception(lambda e: getattr(e, "retryable", False)),
                            before_sleep=_log_retry, sleep=time.sleep)
        try:
            return retrying(_as_error(attempt), current)
        except InterviewerError as error:
            if not error.retryable or index == len(candidates) - 1:
                raise
            log.warning("LLM model %s failed (%s); falling back to %s", current.model, error.code,
                        candidates[index + 1].model)
    raise AssertionError("unreachable")


# -- usage and cost ----------------------------------------------------------------


def _cost_usd(settings: LLMSettings, usage: Any, response: Any = None) -> float | None:
    """Cost from litellm's price map; None for models it does not know."""
    if usage is None or settings.model in _unpriced_models:
        return None
    stamped = getattr(usage, "cost", None)  # litellm prices a finished stream's usage when it can
    if isinstance(stamped, int | float) and not isinstance(stamped, bool):
        return float(stamped)
    hidden = getattr(response, "_hidden_params", None) or {}
    if hidden.get("response_cost") is not None:
        return float(hidden["response_cost"])  # litellm priced it during the call
    litellm = _get_litellm()
    try:
        if response is not None:
            return float(litellm.completion_cost(completion_response=response))
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=settings.model,
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        )
        return float(prompt_cost + completion_cost)
    except Exception:  # litellm raises for models missing from its price map
        log.debug("no price for %s", settings.model, exc_info=True)
        _unpriced_models.add(settings.model)
        _register_zero_price(litellm, settings.model)
        return None


def _register_zero_price(litellm: Any, model: str) -> None:
    """Give an unpriced model explicit zero rates (litellm's way to mark a model free) in litellm's price map.

    litellm does not cache a failed price lookup: for a model missing from its map it searches again, several
    times per call (response metadata, end of stream, logging, zero-cost diagnostics), up to ~2 ms of CPU per
    call. We still record no cost for the model: it is in _unpriced_models.
    """
    try:
        provider = litellm.get_llm_provider(model=model)[1]
        rates = (
            "input_cost_per_token",
            "output_cost_per_token",
            "cache_creation_input_token_cost",
            "cache_read_input_token_cost",
        )
        litellm.register_model({model: {**dict.fromkeys(rates, 0.0), "litellm_provider": provider, "mode": "chat"}})
    except Exception:  # an odd model name: litellm keeps searching, which is only slower
        log.debug("could not register %s as unpriced", model, exc_info=True)


def _call_usage(settings: LLMSettings, usage: Any, started: float, response: Any = None) -> CallUsage:
    return CallUsage(
        model=settings.model,
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
        cost_usd=_cost_usd(settings, usage, response),
        latency_ms=round((time.perf_counter() - started) * 1000),
    )


def _merged_usage(usages: list[CallUsage], started: float) -> CallUsage:
    """One CallUsage for several calls; a total is None if any call lacks it."""

    def total(values: list[Any]) -> Any:
        return None if any(value is None for value in values) else sum(values)

    return CallUsage(
        model=usages[0].model,
        prompt_tokens=total([usage.prompt_tokens for usage in usages]),
        completion_tokens=total([usage.completion_tokens for usage in usages]),
        cost_usd=total([usage.cost_usd for usage in usages]),
        latency_ms=round((time.perf_counter() - started) * 1000),
        first_token_ms=usages[0].first_token_ms,
        finish_reason=usages[-1].finish_reason,
    )


# -- streaming ---------------------------------------------------------------------------------------------------


def _delta_text(chunk: Any) -> str:
    choices = getattr(chunk, "choices", None)
    if not choices:
        return ""
    delta = getattr(choices[0], "delta", None)
    return (getattr(delta, "content", None) or "") if delta is not None else ""


def _received_finish_reason(response: Any) -> str | None:
    """The finish_reason the provider sent (litellm invents "stop" when none came)."""
    received = getattr(response, "received_finish_reason", None)
    return received or getattr(response, "intermittent_finish_reason", None)


def _usage_chunk_sent(response: Any) -> bool:
    """litellm has returned its closing usage chunk (stream_options.include_usage): reading on would only
    assemble, price and queue logging of the whole stream a second time before StopIteration."""
    return getattr(response, "sent_stream_usage", False) is True


def _close_quietly(response: Any) -> None:
    """Close the HTTP response: the model server sees the client leave and stops generating for it."""
    close = getattr(getattr(response, "completion_stream", None), "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # closing an already broken connection may fail
            log.debug("closing the LLM stream failed", exc_info=True)


class LLMStream:
    """Iterate to get text deltas; after exhaustion `.usage` is set and `.text` holds the full text.

    The request starts on the first iteration. Failures before the first delta are retried (then fallbacks are
    tried). A failure after it, a stream that ends without a finish_reason or one that outlasts the call limit
    raises InterviewerError("stream_interrupted"); `.completed` then stays False and `.text` holds only the
    partial text. `started_at` (perf_counter) is when the request went out, `first_token_ms` when text began.
    """

    def __init__(self, messages: list[dict], settings: LLMSettings, schema: type[BaseModel] | None = None) -> None:
        self.text = ""
        self.usage: CallUsage | None = None
        self.finish_reason: str | None = None
        self.completed = False
        self.model = settings.model
        self.first_token_ms: int | None = None
        self._messages = messages
        self._settings = settings
        self._schema = schema
        self._deltas: Iterator[str] | None = None
        self._raw_usage: Any = None

    def __iter__(self) -> Iterator[str]:
        if self._deltas is None:
            self._deltas = self._generate()
        return self._deltas

    def _open(self, settings: LLMSettings) -> tuple[Any, Iterator[Any], list[Any], bool, LLMSettings]:
        """Send the request and read up to the first text delta (or the end)."""
        response = _completion(self._messages, settings, schema=self._schema)
        chunks = iter(response)
        head: list[Any] = []
        try:
            for chunk in chunks:
                head.append(chunk)
                if _delta_text(chunk):
                    return response, chunks, head, False, settings
                if _usage_chunk_sent(response):
                    break
        except BaseException:
            _close_quietly(response)  # an abandoned attempt never keeps the model busy
            raise
        if _received_finish_reason(response) is None:
            _close_quietly(response)
            raise InterviewerError("stream_interrupted", "stream ended before any text and without a finish_reason")
        return response, chunks, head, True, settings

    def _take(self, chunk: Any) -> str:
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self._raw_usage = usage
        delta = _delta_text(chunk)
        self.text += delta
        return delta

    def _generate(self) -> Iterator[str]:
        started = time.perf_counter()
        # Retrying is safe only while nothing has been shown to the reader.
        response, chunks, head, exhausted, settings = _with_retries(self._open, self._settings)
        self.model = settings.model
        self.first_token_ms = round((time.perf_counter() - started) * 1000)
        limit_s = settings.call_limit_s  # the whole call, first token included: sized by max_tokens
        deadline = started + limit_s
        try:
            for chunk in head:
                if delta := self._take(chunk):
                    yield delta
            while not exhausted:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    break
                except Exception as exc:
                    cause = _to_llm_error(exc).detail
                    raise InterviewerError("stream_interrupted", f"after {len(self.text)} chars: {cause}") from exc
                if delta := self._take(chunk):
                    yield delta
                if _usage_chunk_sent(response):
                    break
                if time.perf_counter() > deadline:
                    raise InterviewerError("stream_interrupted", f"stream took longer than {limit_s:g} s")
        finally:
            _close_quietly(response)  # also when the consumer stops early
        self.finish_reason = _received_finish_reason(response)
        if self.finish_reason is None:
            raise InterviewerError("stream_interrupted",
                                   f"no finish_reason after {len(self.text)} chars: connection lost?")
        self.completed = True
        self.usage = _call_usage(settings, self._raw_usage, started)
        self.usage.first_token_ms, self.usage.finish_reason = self.first_token_ms, self.finish_reason


def stream_text(messages: list[dict], *, settings: LLMSettings) -> LLMStream:
    """Stream the assistant's reply (see LLMStream for retries, fallbacks, timeouts and interruptions)."""
    return LLMStream(messages, settings)


# -- whole replies -------------------------------------------------------------------------------------------------


def _complete(messages: list[dict], settings: LLMSettings, *,
              schema: type[BaseModel] | None = None) -> tuple[str, CallUsage]:
    """The whole reply of a streamed call; nobody sees it before it ends, so a call cut midway is retried whole."""

    def attempt(current: LLMSettings) -> tuple[str, CallUsage]:
        stream = LLMStream(messages, replace(current, num_retries=0, fallbacks=()), schema)
        text = "".join(stream)
        return text, stream.usage or CallUsage(current.model, None, None, None, 0)

    return _with_retries(attempt, settings)


def complete_text(messages: list[dict], *, settings: LLMSettings) -> tuple[str, CallUsage]:
    """The assistant's whole reply, with its usage."""
    return _complete(messages, settings)


def _with_json_instruction(messages: list[dict], schema: type[BaseModel]) -> list[dict]:
    """Make sure the prompt asks for JSON: OpenAI's JSON mode requires the word."""
    if any("json" in str(message.get("content", "")).lower() for message in messages):
        return messages
    schema_text = json.dumps(schema.model_json_schema(), ensure_ascii=False)
    instruction = f"Reply with one JSON object matching this JSON Schema: {schema_text}"
    if messages and messages[0].get("role") == "system":
        content = f"{messages[0].get('content', '')}\n\n{instruction}"
        return [{**messages[0], "content": content}, *messages[1:]]
    return [{"role": "system", "content": instruction}, *messages]


def _json_candidates(text: str) -> Iterator[str]:
    """Tolerant extraction: the whole reply, each balanced {...} in it (fences, prose or a second object around
    it), then the outermost braces."""
    stripped = text.strip()
    if stripped.startswith("{"):
        yield stripped
    decoder = json.JSONDecoder()
    index = text.find("{")
    while index != -1:
        try:
            _obj, end = decoder.raw_decode(text, index)
        except ValueError:
            index = text.find("{", index + 1)
            continue
        yield text[index:end]
        index = text.find("{", end)
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        yield text[start : end + 1]


def parse_json_reply(text: str, schema: type[ModelT]) -> ModelT:
    """The first JSON object in a reply that fits `schema` (```json fences or prose around it are fine)."""
    problem = f"no JSON object in reply: {text[:120]!r}"
    for candidate in _json_candidates(text):
        try:
            return schema.model_validate_json(candidate)
        except ValidationError as exc:
            problem = f"reply does not fit {schema.__name__}: {exc.errors()[:3]}"
    raise InterviewerError("invalid_output", problem)


def complete_json(messages: list[dict], *, settings: LLMSettings, schema: type[ModelT]) -> tuple[ModelT, CallUsage]:
    """The reply parsed into `schema` (JSON schema or JSON mode asked of the provider), asking again once if it
    does not fit."""
    prompt = _with_json_instruction(messages, schema)
    started = time.perf_counter()
    text, usage = _complete(prompt, settings, schema=schema)
    usages = [usage]
    for _ in range(INVALID_OUTPUT_RETRIES):
        try:
            return parse_json_reply(text, schema), _merged_usage(usages, started)
        except InterviewerError as exc:
            log.info("LLM reply unusable, asking again: %s", exc.detail)
        text, usage = _complete(prompt, settings, schema=schema)
        usages.append(usage)
    return parse_json_reply(text, schema), _merged_usage(usages, started)
