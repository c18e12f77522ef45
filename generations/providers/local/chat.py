"""Chat on the offline engine: SmolLM2-135M-Instruct, run by llama-cpp-python on this CPU.

The model is loaded once per worker process, on the first answer (a few seconds), and then
answers one message at a time (a llama.cpp context is not thread-safe). The prompt is built
by the chat template stored in the GGUF file, so what is counted is exactly what is sent.
Answers are short and simple: it is a 135M-parameter model, useful for trying chat offline.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import TYPE_CHECKING, Any

from django.conf import settings

from generations.providers import offline_llm
from generations.providers.base import (
    Failed,
    Failure,
    FailureCategory,
    Finished,
    Job,
    Outcome,
    Reporter,
)

if TYPE_CHECKING:
    from llama_cpp import Llama

log = logging.getLogger(__name__)

# Room the answer needs at least; history is dropped (oldest first) to leave this much.
MIN_ANSWER_TOKENS = 64
# Low temperature: a model this small rambles and drifts off topic when sampled loosely.
TEMPERATURE = 0.3

_load_lock = threading.Lock()
_run_lock = threading.Lock()
_loaded: Loaded | None = None


class OfflineModelMissing(RuntimeError):
    """The `local-llm` extra is not installed on this machine."""


class Loaded:
    """The model and its chat template, as loaded in this process."""

    def __init__(self, llm: Llama) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llm = llm
        self.n_ctx = llm.n_ctx()
        eos, bos = llm.token_eos(), llm.token_bos()
        self.formatter = Jinja2ChatFormatter(
            template=llm.metadata["tokenizer.chat_template"],
            eos_token=_token_text(llm, eos),
            bos_token=_token_text(llm, bos),
            stop_token_ids=[eos],
        )

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        """Tokens of the prompt the chat template makes of `messages` (as
        create_chat_completion tokenizes it)."""
        formatted = self.formatter(messages=messages)  # type: ignore[arg-type]
        return len(
            self.llm.tokenize(
                formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
            )
        )

    def count(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def _token_text(llm: Llama, token: int) -> str:
    if token < 0:
        return ""
    return llm.detokenize([token], special=True).decode("utf-8", errors="ignore")


def load() -> Loaded:
    """The model of this process, loaded on first use (thread-safe)."""
    global _loaded
    if _loaded is None:
        with _load_lock:
            if _loaded is None:
                path = offline_llm.weights_path()
                if path is None or not offline_llm.installed():
                    missing = "The offline language model is not installed"
                    raise OfflineModelMissing(f"{missing}: {offline_llm.INSTALL_COMMAND}")
                from llama_cpp import Llama

                threads = settings.STUDIO_LOCAL_LLM_THREADS
                llm = Llama(
                    model_path=str(path),
                    n_ctx=settings.STUDIO_LOCAL_LLM_CONTEXT,
                    n_threads=threads,
                    n_threads_batch=threads,
                    verbose=False,
                )
                # Freed before interpreter teardown: llama-cpp-python's own __del__ then
                # finds its C bindings gone and prints a TypeError at every exit.
                atexit.register(llm.close)
                _loaded = Loaded(llm)
                log.info("offline language model loaded from %s (n_ctx=%d)", path, _loaded.n_ctx)
    return _loaded


def fit(
    loaded: Loaded, messages: list[dict[str, str]], max_tokens: int
) -> tuple[list[dict[str, str]], int, int]:
    """The messages that fit the context window with room for an answer (system messages
    kept, the oldest other turns dropped first), their prompt tokens, and the answer budget.
    Raises ValueError when even the last message alone does not fit."""
    system = [m for m in messages if m["role"] == "system"]
    turns = [m for m in messages if m["role"] != "system"]
    while True:
        kept = system + turns
        used = loaded.prompt_tokens(kept)
        if used + MIN_ANSWER_TOKENS <= loaded.n_ctx:
            return kept, used, max(1, min(max_tokens, loaded.n_ctx - used))
        if len(turns) <= 1:
            raise ValueError(
                f"The message is too long for the offline model: {used} tokens, and its "
                f"context window holds {loaded.n_ctx} with the answer."
            )
        turns = turns[1:]


def _messages(params: dict[str, Any]) -> list[dict[str, str]]:
    found = []
    for message in params.get("messages") or []:
        role, content = message.get("role"), message.get("content")
        if role in ("system", "user", "assistant") and isinstance(content, str):
            found.append({"role": role, "content": content})
    return found


def _failed(message: str, category: str, code: str) -> Failed:
    return Failed(Failure(message, category, code, provider="local"))


def answer(job: Job, report: Reporter) -> Outcome:
    """Answer the conversation in `job.params["messages"]`, reporting the text as it is
    written. CPU-bound: runs in the worker process that claimed the job."""
    messages = _messages(job.params)
    if not any(m["role"] == "user" for m in messages):
        return _failed("There is no message to answer", FailureCategory.INVALID_INPUT, "NO_MESSAGE")
    try:
        loaded = load()
    except OfflineModelMissing as exc:
        return _failed(str(exc), FailureCategory.INVALID_INPUT, "MODEL_NOT_INSTALLED")
    requested = int(job.params.get("max_tokens") or settings.STUDIO_LOCAL_LLM_MAX_TOKENS)
    try:
        written = generate(loaded, messages, max_tokens=requested, report=report)
    except ValueError as exc:
        return _failed(str(exc), FailureCategory.INVALID_INPUT, "CONTEXT_LENGTH_EXCEEDED")
    return Finished(
        [],
        meta={
            "content": written.content.strip(),
            "reasoning_content": "",
            "model": offline_llm.MODEL_IDENTIFIER,
            "usage": written.usage,
        },
    )


class Written:
    """What the model wrote for one prompt, and the tokens it took."""

    def __init__(self, content: str, prompt_tokens: int, completion_tokens: int) -> None:
        self.content = content
        self.usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}


def generate(
    loaded: Loaded,
    messages: list[dict[str, str]],
    *,
    max_tokens: int,
    temperature: float = TEMPERATURE,
    seed: int | None = None,
    response_format: dict[str, Any] | None = None,
    report: Reporter | None = None,
) -> Written:
    """One answer to `messages` (history trimmed to fit), streamed to `report` when given.
    `response_format={"type": "json_object"}` constrains the output to JSON (a grammar).
    Raises ValueError when the last message alone does not fit the context window."""
    budget = max(1, min(max_tokens, settings.STUDIO_LOCAL_LLM_MAX_TOKENS))
    options: dict[str, Any] = {"max_tokens": 0, "temperature": temperature, "stream": True}
    if seed is not None:
        options["seed"] = seed
    if response_format is not None:
        options["response_format"] = response_format
    with _run_lock:
        kept, prompt_tokens, budget = fit(loaded, messages, budget)
        options["max_tokens"] = budget
        content, streamed = "", 0
        stream = loaded.llm.create_chat_completion(messages=kept, **options)  # type: ignore[arg-type]
        for chunk in stream:
            delta = chunk["choices"][0]["delta"]  # type: ignore[index]
            text = str(delta.get("content") or "")  # type: ignore[union-attr]
            if text:
                content += text
                streamed += 1
                if report is not None:
                    report.partial(content)
                    report(min(99, streamed * 100 // budget))
        completion_tokens = min(budget, loaded.count(content)) if content else 0
    return Written(content, prompt_tokens, completion_tokens)
