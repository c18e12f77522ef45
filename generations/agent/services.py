"""Agent run use cases: start a run (the 403 refusal first), advance it one step on the
cluster, finish it, re-drive what a dead worker left, and present it.

A step is claimed by moving the run's lease (a duplicate delivery loses the claim). Each
step is one language-model turn or one tool call. A tool call's row (its intent, with an
idempotency key) is committed before the tool runs; a paid call starts an ordinary
generation under that key, so a step re-driven after a crash replays the same generation
(charged once) instead of starting a second one. While a paid call's generation runs, the
run lets go of its lease; the generation's end (events.generation_finished) or the sweeper
drives the next step.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from generations import engine, extensions, language, params, pricing, services
from generations.agent import rules, tools
from generations.agent.models import (
    ACTIVE_RUN_STATUSES,
    AgentMode,
    AgentRun,
    AgentStep,
    RunStatus,
    StepRole,
)
from generations.chat import tokens
from generations.chat.models import ChatConversation, ChatMessage, ChatRole
from generations.chat.services import MAX_MESSAGE_CHARS, team_conversation
from generations.models import TERMINAL_STATES, AIModel, Generation, GenerationState, Provider
from generations.registry import resolve_model
from studio.accounts import credits
from studio.accounts.models import Team, User
from studio.errors import (
    Conflict,
    Forbidden,
    InsufficientCredits,
    InvalidFields,
    NotFound,
    StudioError,
)

log = logging.getLogger(__name__)

OPENING_PROMPT = (
    "Reply to the user with one short, friendly sentence saying their request is done. "
    "Do not add details or numbers."
)
STEP_LEASE = timedelta(minutes=3)
# A run waiting on a generation with no step in flight is re-driven after this long.
IDLE_RECHECK = timedelta(seconds=60)
MAX_REFERENCE_IMAGES = 4
ADVANCE = "generations.tasks.advance_agent_run"
SYSTEM_PROMPT = (
    "You are Studio's creative agent. You work only with the tools given: read the team's "
    "products and credits, generate images, videos and ads, research ads. You never change "
    "Meta campaigns, ad sets, budgets or accounts. Call tools to do what the user asks, then "
    "answer with a short summary of what you made."
)


# --- starting -----------------------------------------------------------------------------------


def _limits(team: Team) -> dict[str, int]:
    limits = {
        "max_steps": settings.STUDIO_AGENT_MAX_STEPS,
        "max_seconds": settings.STUDIO_AGENT_MAX_SECONDS,
        "max_credits": settings.STUDIO_AGENT_MAX_CREDITS,
    }
    plan = getattr(team, "plan", None)
    raised = settings.STUDIO_AGENT_PLAN_LIMITS.get(getattr(plan, "slug", ""), {})
    for name in limits:
        if isinstance(raised.get(name), int):
            limits[name] = max(limits[name], raised[name])
    return limits


def _string_list(raw: dict[str, Any], name: str, most: int) -> list[str]:
    value = raw.get(name)
    if value in (None, []):
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidFields.about(name, "must be a list of strings")
    if len(value) > most:
        raise InvalidFields.about(name, f"takes at most {most} items")
    return value


def start_run(
    team: Team,
    user: User | None,
    raw: dict[str, Any],
    *,
    source: str = "api",
    api_key_id: UUID | None = None,
    idempotency_key: str | None = None,
) -> AgentRun:
    """Validate the request, refuse Meta account changes (Forbidden), and store the
    conversation, the user and assistant messages and the queued run; nothing is charged
    until a paid tool runs. A repeated Idempotency-Key (24 h) answers with the first run."""
    if not isinstance(raw, dict):
        raise InvalidFields("The request body must be a JSON object")
    key = (idempotency_key or "").strip()[:255]
    fingerprint = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    if key:
        earlier = _replay(team, key, fingerprint)
        if earlier is not None:
            return earlier
    message = raw.get("message")
    if not isinstance(message, str) or not message.strip():
        raise InvalidFields.about("message", "is required")
    if len(message) > MAX_MESSAGE_CHARS:
        raise InvalidFields.about("message", f"is at most {MAX_MESSAGE_CHARS} characters")
    agent = raw.get("agent") or AgentMode.AUTO
    if agent not in AgentMode.values:
        raise InvalidFields.about("agent", "must be one of auto, asset, discover")
    product_ids = _string_list(raw, "product_ids", 4)
    if product_ids:
        extensions.references().products(team, product_ids)  # NotFound for others' products
    references = _string_list(raw, "reference_images", MAX_REFERENCE_IMAGES)
    references = [services.checked_image_url(url, team, "reference_images") for url in references]
    if rules.changes_meta_account(message):
        raise Forbidden(
            "Agent runs make creative and research ads; they do not change Meta campaigns, "
            "ad sets, budgets or accounts. Make those changes in Meta Ads Manager."
        )
    conversation = None
    if raw.get("conversation_id") not in (None, ""):
        conversation = team_conversation(team, raw["conversation_id"])
    mode = agent if agent != AgentMode.AUTO else rules.auto_mode(message)
    model = language.planning_model(team)
    tool_model = model if model is not None and model.provider != Provider.LOCAL else None
    limits = _limits(team)
    now = timezone.now()
    with transaction.atomic():
        if key:
            # Two concurrent requests with one key: the team's row lock lets one create the
            # run and the other answer with it (SQLite's write lock does the same).
            Team.objects.select_for_update().filter(pk=team.pk).exists()
            earlier = _replay(team, key, fingerprint)
            if earlier is not None:
                return earlier
        if conversation is None:
            conversation = ChatConversation.objects.create(
                team=team, created_by=user, title=" ".join(message.split())[:80]
            )
        else:
            ChatConversation.objects.filter(pk=conversation.pk).update(last_activity=now)
        asked = ChatMessage.objects.create(
            conversation=conversation, role=ChatRole.USER, content=message, created_at=now
        )
        answer = ChatMessage.objects.create(
            conversation=conversation,
            role=ChatRole.ASSISTANT,
            status="processing",
            model_identifier=tool_model.identifier if tool_model else "rules",
            created_at=now,
        )
        run = AgentRun.objects.create(
            team=team,
            created_by=user,
            source=source,
            api_key_id=api_key_id,
            idempotency_key=key,
            conversation=conversation,
            user_message=asked,
            assistant_message=answer,
            agent=agent,
            mode=mode,
            planner="model" if tool_model else "rules",
            model_identifier=tool_model.identifier if tool_model else "",
            context={
                "product_ids": product_ids,
                "reference_images": references,
                "request_fingerprint": fingerprint,
            },
            max_steps=limits["max_steps"],
            max_credits=limits["max_credits"],
            deadline_at=now + timedelta(seconds=limits["max_seconds"]),
            created_at=now,
            updated_at=now,
        )
        AgentStep.objects.create(run=run, index=0, role=StepRole.USER, content=message)
        transaction.on_commit(lambda: engine.enqueue(ADVANCE, run.pk))
    return run


def _replay(team: Team, key: str, fingerprint: str) -> AgentRun | None:
    """The run an earlier request with this Idempotency-Key started (24 h), if any; Conflict
    when that request's body differed."""
    earlier = AgentRun.objects.filter(
        team=team,
        idempotency_key=key,
        created_at__gte=timezone.now() - services.IDEMPOTENCY_WINDOW,
    ).first()
    seen = earlier.context.get("request_fingerprint") if earlier is not None else None
    if seen is not None and seen != fingerprint:
        raise Conflict("This Idempotency-Key was already used with a different request body")
    return earlier


def team_run(team: Team, run_id: Any) -> AgentRun:
    try:
        uuid = UUID(str(run_id))
    except ValueError:
        raise NotFound("Agent run not found") from None
    run = AgentRun.objects.filter(team=team, uuid=uuid).select_related("conversation").first()
    if run is None:
        raise NotFound("Agent run not found")
    return run


# --- advancing ----------------------------------------------------------------------------------


def advance(run_id: int) -> None:
    """Take one step of the run; safe to run twice (one claim wins)."""
    now = timezone.now()
    lease = now + STEP_LEASE
    claimed = (
        AgentRun.objects.filter(pk=run_id, status__in=ACTIVE_RUN_STATUSES)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=lease, status=RunStatus.PROCESSING, updated_at=now)
    )
    if not claimed:
        return
    run = AgentRun.objects.select_related("team").get(pk=run_id)
    try:
        outcome = _step(run)
    except Exception as exc:  # a bug must end the run, not leave it looping
        log.exception("agent run %s step failed", run.uuid)
        _finish(run, failed=f"The run stopped on an internal error: {exc}")
        return
    AgentRun.objects.filter(pk=run_id, lease_until=lease).update(
        lease_until=None, updated_at=timezone.now()
    )
    if outcome == "next":
        engine.enqueue(ADVANCE, run_id)
    elif outcome == "wait" and _waiting_is_over(run_id):
        engine.enqueue(ADVANCE, run_id)  # it finished while we let go


def _waiting_is_over(run_id: int) -> bool:
    return AgentStep.objects.filter(
        run_id=run_id, done=False, generation__state__in=TERMINAL_STATES
    ).exists()


def _step(run: AgentRun) -> str:
    """One step: "next" (more to do), "wait" (a generation runs) or "done"."""
    pending = run.steps.filter(done=False).order_by("index").first()
    if pending is not None:
        return _run_tool(run, pending)
    reason = _limit_reached(run)
    if reason:
        _finish(run, failed=reason)
        return "done"
    if run.planner == "rules":
        return _rules_turn(run)
    return _model_turn(run)


def _limit_reached(run: AgentRun) -> str:
    if run.deadline_at is not None and timezone.now() >= run.deadline_at:
        return "the run reached its time limit"
    if run.steps_taken >= run.max_steps:
        return f"the run reached its step limit ({run.max_steps} steps)"
    return ""


def spent(run: AgentRun) -> int:
    """Credits the run used: its paid calls' generations (net of refunds) and chat tokens."""
    total = run.token_credits
    for generation in Generation.objects.filter(agent_steps__run=run).distinct():
        total += generation.credits_charged - generation.credits_refunded
    return total


def _next_index(run: AgentRun) -> int:
    return (run.steps.aggregate(top=Max("index"))["top"] or 0) + 1


def _record_call(
    run: AgentRun, name: str, arguments: dict[str, Any], *, call_id: str = "", title: str = ""
) -> AgentStep:
    """The tool call's intent, committed before the tool runs."""
    with transaction.atomic():
        index = _next_index(run)
        step = AgentStep.objects.create(
            run=run,
            index=index,
            role=StepRole.TOOL,
            tool_name=name[:60],
            tool_call_id=call_id[:120],
            arguments=arguments,
            content=title,
            idempotency_key=f"agent:{run.uuid}:{index}",
            done=False,
        )
        AgentRun.objects.filter(pk=run.pk).update(steps_taken=F("steps_taken") + 1)
    return step


def _rules_turn(run: AgentRun) -> str:
    if not run.plan:
        run.plan = rules.plan(run.user_message.content, run.mode, run.context) or [
            {"name": "list_products", "arguments": {}}
        ]
        planned = ", ".join(c.get("title") or c["name"].replace("_", " ") for c in run.plan)
        with transaction.atomic():
            AgentRun.objects.filter(pk=run.pk).update(plan=run.plan)
            AgentStep.objects.create(
                run=run,
                index=_next_index(run),
                role=StepRole.ASSISTANT,
                content=f"[offline planner: rules] Plan: {planned}.",
            )
        return "next"
    made = run.steps.filter(role=StepRole.TOOL).count()
    if made < len(run.plan):
        call = run.plan[made]
        step = _record_call(run, call["name"], call["arguments"], title=call.get("title", ""))
        return _run_tool(run, step)
    summary = rules.reply(run.user_message.content, _results(run))
    opening = _offline_opening(run, summary)
    _finish(run, text=f"{opening}\n\n{summary}" if opening else summary)
    return "done"


def _offline_opening(run: AgentRun, summary: str) -> str:
    """One friendly sentence by the offline model, when it is installed, above the summary
    the rules wrote from the results; "" when there is no model, or it invents numbers or
    repeats its instructions (the 135M model does)."""
    model = language.planning_model(run.team)
    if model is None or model.provider != Provider.LOCAL:
        return ""
    ask = [
        {"role": "system", "content": OPENING_PROMPT},
        {"role": "user", "content": f"{run.user_message.content}\n\n(Done: {summary})"},
    ]
    try:
        answer = language.complete(
            model, ask, team=run.team, max_tokens=48, temperature=0.3, seed=7
        )
    except language.LanguageUnavailable:
        return ""
    first_line = answer.text.strip().split("\n")[0]
    sentence = re.split(r"(?<=[.!?])\s", first_line)[0][:240].strip()
    invented = set(re.findall(r"\d+", sentence)) - set(re.findall(r"\d+", summary))
    if not sentence or invented or _echoes(sentence, OPENING_PROMPT):
        return ""
    try:
        _charge_tokens(run, model, answer.usage, "reply")
    except InsufficientCredits:
        return ""
    return sentence


def _echoes(sentence: str, prompt: str) -> bool:
    """Whether a small model repeated its instructions (any four words in a row)."""
    words = re.findall(r"[a-z']+", prompt.lower())
    said = " ".join(re.findall(r"[a-z']+", sentence.lower()))
    return any(" ".join(words[i : i + 4]) in said for i in range(len(words) - 3))


def _charge_tokens(run: AgentRun, model: AIModel, usage: dict[str, int], turn: str) -> int:
    """The chat tokens of one model turn, charged once (a re-driven turn is not charged
    again); nothing for a model without token rates."""
    if not any(tokens.rates(model)):
        return 0
    cost = tokens.token_credits(model, usage["prompt_tokens"], usage["completion_tokens"])
    try:
        with transaction.atomic():  # the debit and the run's count of it, together
            credits.debit(
                run.team, cost, f"agent_run:{run.uuid}:turn:{turn}",
                note=f"Agent run · chat tokens · {model.name}",
            )  # fmt: skip
            AgentRun.objects.filter(pk=run.pk).update(token_credits=F("token_credits") + cost)
    except credits.AlreadyCharged:
        return 0
    run.token_credits += cost
    return cost


def _model_turn(run: AgentRun) -> str:
    model = AIModel.objects.filter(identifier=run.model_identifier).first()
    if model is None:
        _finish(run, failed="the run's chat model is no longer available")
        return "done"
    messages = run.model_messages or [
        {"role": "system", "content": SYSTEM_PROMPT + _context_note(run)},
        {"role": "user", "content": run.user_message.content},
    ]
    schemas = [t.schema() for t in tools.tools_for(run.mode)]
    try:
        answer = language.complete(
            model, messages, team=run.team, tools=schemas, max_tokens=1024, temperature=0.3
        )
    except language.LanguageUnavailable as exc:
        _finish(run, failed=f"the chat model could not answer: {exc}")
        return "done"
    try:
        _charge_tokens(run, model, answer.usage, str(run.turns_taken))
    except InsufficientCredits as exc:
        _finish(run, failed=exc.message)
        return "done"
    calls = answer.tool_calls
    said: dict[str, Any] = {"role": "assistant", "content": answer.text or None}
    if calls:
        said["tool_calls"] = calls
    with transaction.atomic():
        AgentRun.objects.filter(pk=run.pk).update(
            model_messages=[*messages, said],
            turns_taken=F("turns_taken") + 1,
            steps_taken=F("steps_taken") + 1,
        )
        if calls and answer.text:
            AgentStep.objects.create(
                run=run, index=_next_index(run), role=StepRole.ASSISTANT, content=answer.text
            )
        for call in calls:
            function = call.get("function") or {}
            try:
                arguments = json.loads(function.get("arguments") or "{}")
            except ValueError:
                arguments = {"_unparsed": str(function.get("arguments"))[:500]}
            _record_call(
                run,
                str(function.get("name") or "unknown"),
                arguments if isinstance(arguments, dict) else {},
                call_id=str(call.get("id") or ""),
            )
    if not calls:
        run.refresh_from_db()
        _finish(run, text=answer.text or "Done.")
        return "done"
    return "next"


def _context_note(run: AgentRun) -> str:
    note = ""
    if run.context.get("product_ids"):
        note += f"\nSelected products (ids): {', '.join(run.context['product_ids'])}."
    if run.context.get("reference_images"):
        note += f"\nReference images: {', '.join(run.context['reference_images'])}."
    if run.mode == AgentMode.DISCOVER:
        note += "\nThis is a research run: only read-only tools are available."
    return note


def _arguments(run: AgentRun, step: AgentStep) -> dict[str, Any]:
    arguments = dict(step.arguments)
    if arguments.get("product_ids") == "$matched":
        arguments["product_ids"] = run.context.get("product_ids") or []
    return arguments


def _complete_step(run: AgentRun, step: AgentStep, result: dict[str, Any]) -> None:
    with transaction.atomic():
        if not AgentStep.objects.filter(pk=step.pk, done=False).update(result=result, done=True):
            return
        if run.planner == "model" and step.tool_call_id:
            locked = AgentRun.objects.select_for_update().get(pk=run.pk)
            AgentRun.objects.filter(pk=run.pk).update(
                model_messages=[
                    *locked.model_messages,
                    {
                        "role": "tool",
                        "tool_call_id": step.tool_call_id,
                        "content": json.dumps(result)[:8000],
                    },
                ]
            )
        total = max(1, len(run.plan) if run.plan else run.max_steps)
        made = run.steps.filter(role=StepRole.TOOL, done=True).count()
        AgentRun.objects.filter(pk=run.pk).update(progress=min(95, 5 + 90 * made // total))


def _run_tool(run: AgentRun, step: AgentStep) -> str:
    tool = tools.TOOLS.get(step.tool_name)
    if tool is None or (run.mode == AgentMode.DISCOVER and tool.paid):
        reason = (
            f"{step.tool_name} is not a tool of this agent"
            if tool is None
            else f"{step.tool_name} costs credits and is not available to a discover run"
        )
        _complete_step(run, step, {"error": f"Refused: {reason}."})
        return "next"
    arguments = _arguments(run, step)
    if not tool.paid:
        assert tool.read is not None
        try:
            result = tool.read(run.team, arguments, run.context)
        except StudioError as exc:
            result = {"error": exc.message}
        if step.tool_name == "list_products" and not run.context.get("product_ids"):
            matched = rules.match_products(run.user_message.content, result.get("products", []))
            run.context = {**run.context, "product_ids": matched}
            AgentRun.objects.filter(pk=run.pk).update(context=run.context)
        _complete_step(run, step, result)
        return "next"
    return _run_paid_tool(run, step, tool, arguments)


def _quote(team: Team, generation_type: str, raw: dict[str, Any]) -> int:
    model = resolve_model(raw.get("model"), generation_type, team)
    return pricing.quote(
        model, generation_type, params.validate(generation_type, dict(raw), model)
    ).credits


def _reference_room(team: Team, generation_type: str) -> int:
    try:
        return max(0, resolve_model(None, generation_type, team).max_reference_images)
    except StudioError:
        return 0


def _run_paid_tool(
    run: AgentRun, step: AgentStep, tool: tools.Tool, arguments: dict[str, Any]
) -> str:
    generation = step.generation
    if generation is None:
        raw = tools.generation_request(tool, arguments, run.context)
        references = run.context.get("reference_images") or []
        if references and tool.generation_type in ("image", "video"):
            room = _reference_room(run.team, tool.generation_type)
            if room:  # the request's reference images, as far as the model takes them
                raw["reference_images"] = references[:room]
        try:
            if tool.generation_type == "ad" and not raw.get("product_ids"):
                raise InvalidFields("An ad needs a product: add one to the catalog first")
            price = _quote(run.team, tool.generation_type, raw)
            if spent(run) + price > run.max_credits:
                reason = (
                    f"the run reached its credit limit ({run.max_credits} credits): "
                    f"{step.tool_name} would cost {price} more"
                )
                _complete_step(run, step, {"error": f"Not started: {reason}."})
                _finish(run, failed=reason)
                return "done"
            generation = services.start_generation(
                run.team,
                run.created_by,
                tool.generation_type,
                raw,
                source=run.source,
                api_key_id=run.api_key_id,
                idempotency_key=step.idempotency_key,
                dialect="krev",
            ).generation
        except StudioError as exc:
            _complete_step(run, step, {"error": exc.message})
            return "next"
        link_generation(step, generation)
    generation.refresh_from_db()
    if generation.state not in TERMINAL_STATES:
        return "wait"
    _complete_step(run, step, _generation_result(generation))
    return "next"


def link_generation(step: AgentStep, generation: Generation) -> None:
    AgentStep.objects.filter(pk=step.pk).update(generation=generation)
    step.generation = generation


def _generation_result(generation: Generation) -> dict[str, Any]:
    result = tools.generation_summary(generation)
    result["credits_used"] = generation.credits_charged - generation.credits_refunded
    if generation.state != GenerationState.SUCCEEDED:
        result["error"] = generation.error or "it failed; its credits were refunded"
    copy = (generation.result_meta or {}).get("ad", {}).get("ad_copy")
    if copy:
        result["ad_copy"] = copy
    return result


def _results(run: AgentRun) -> list[dict[str, Any]]:
    found = []
    for step in run.steps.filter(role=StepRole.TOOL).order_by("index"):
        found.append(
            {
                "name": step.tool_name,
                "title": step.content,
                "result": step.result,
                "generation_id": str(step.generation.uuid) if step.generation else None,
                "error": step.result.get("error"),
            }
        )
    return found


def _finish(run: AgentRun, *, text: str = "", failed: str = "") -> None:
    """End the run once: its reply (and reason) on the assistant message, its webhook."""
    if failed:
        text = rules.reply(run.user_message.content, _results(run), failed=failed)
    now = timezone.now()
    with transaction.atomic():
        if not AgentRun.objects.filter(pk=run.pk, status__in=ACTIVE_RUN_STATUSES).update(
            status=RunStatus.FAILED if failed else RunStatus.SUCCEEDED,
            final_text=text,
            error=failed[:1].upper() + failed[1:] if failed else "",
            progress=100,
            lease_until=None,
            completed_at=now,
            updated_at=now,
        ):
            return
        # Paid calls still running when the run stops are let finish (they are the team's
        # generations, in the gallery); they count in what the run used.
        AgentStep.objects.filter(run=run, done=False, generation__isnull=True).update(
            done=True, result={"error": "Not run: the run stopped."}
        )
        AgentStep.objects.create(
            run=run, index=_next_index(run), role=StepRole.ASSISTANT, content=text
        )
        run.refresh_from_db()
        ChatMessage.objects.filter(pk=run.assistant_message_id).update(
            content=text,
            status="completed" if not failed else "failed",
            media_urls=media_urls(run),
            credits=spent(run),
        )
        ChatConversation.objects.filter(pk=run.conversation_id).update(last_activity=now)
        transaction.on_commit(lambda: _announce(run.pk))


def _announce(run_id: int) -> None:
    from generations.agent import presenters
    from studio.integrations import webhooks

    run = AgentRun.objects.select_related("conversation").get(pk=run_id)
    webhooks.publish_safely(
        run.team_id,
        "chat.run.completed",
        lambda dialect: presenters.run(run),
        job_url="",
        job_dialect="krev",
    )


def media_urls(run: AgentRun) -> list[str]:
    urls: list[str] = []
    for generation in run_generations(run):
        if generation.state == GenerationState.SUCCEEDED:
            urls += tools.generation_summary(generation)["media_urls"]
    return urls


def run_generations(run: AgentRun) -> list[Generation]:
    return [
        step.generation
        for step in run.steps.filter(generation__isnull=False)
        .select_related("generation")
        .order_by("index")
        if step.generation is not None
    ]


# --- recovery -----------------------------------------------------------------------------------


def generation_finished(generation_id: int) -> None:
    """A paid call's generation ended: drive its run's next step."""
    for run_id in AgentStep.objects.filter(generation_id=generation_id, done=False).values_list(
        "run_id", flat=True
    ):
        transaction.on_commit(partial(engine.enqueue, ADVANCE, run_id))


def sweep(now: Any) -> int:
    """Re-drive runs a dead worker left (an expired lease) or that wait with nothing in
    flight; a run past its deadline is failed by its next step."""
    stale = AgentRun.objects.filter(status__in=ACTIVE_RUN_STATUSES).filter(
        Q(lease_until__lt=now) | Q(lease_until__isnull=True, updated_at__lt=now - IDLE_RECHECK)
    )
    count = 0
    for run_id in stale.values_list("pk", flat=True):
        engine.enqueue(ADVANCE, run_id)
        count += 1
    return count
