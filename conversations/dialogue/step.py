"""The dialogue step: a classified user turn in; the bot's answer and the conversation's new state out.

Order of decisions: a form waiting for a slot first (a value, or a correction of an earlier one); then the
predicted intent, or the next ranked one, whose needed contexts are active; else a fallback, which offers a
human after FALLBACKS_BEFORE_HANDOFF in a row.

An intent with an action (and a bot with an action base URL) calls it where it would give its response: at once
for an intent without required slots, on the turn that completes its form otherwise. Prompts, re-prompts and
fallbacks call nothing. Such a turn comes back unfinished, `Turn.action` set (see dialogue/actions.py).
Where no person can join (stateless turns), nothing offers one and asking for one is told so.
"""

import random
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from django.utils import timezone

from intents.classifier import Prediction
from intents.models import Bot
from intents.selectors import IntentSpec, SlotSpec, bot_dialogue

from . import texts
from .actions import ActionOutcome, ActionRequest
from .entities import Found, entities_extract
from .state import contexts_active, contexts_after_turn

FALLBACK_INTENT = "fallback"
HANDOFF_INTENT = "human_handoff"
FALLBACKS_BEFORE_HANDOFF = 2
_PAYLOAD = re.compile(r"/([\w-]{1,100})")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Bot text is plain text with a small markdown subset (docs/protocol.md); a backslash makes these literal.
_MARKDOWN_SPECIAL = re.compile(r"([\\*_\[\]()])")
_ISO_MINUTE = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)$")


@dataclass(frozen=True)
class Turn:
    text: str
    intent: str
    language: str
    state: dict[str, Any]
    buttons: list[dict[str, str]] = field(default_factory=list)
    handoff: bool = False  # the visitor asked for a person
    action: ActionRequest | None = None  # unfinished: call this action, then step again with its outcome


@dataclass
class _Step:
    bot: Bot
    text: str
    language: str
    now: datetime
    state: dict[str, Any]
    contexts: dict[str, dict[str, float]]
    slots: dict[str, Any]
    action: ActionOutcome | None = None
    handoff_available: bool = True

    @cached_property
    def entities(self) -> list[Found]:
        """Extracted only when a slot may take them: dateparser is the slowest part of a turn."""
        custom = bot_dialogue(bot=self.bot).entities
        return entities_extract(text=self.text, language=self.language, custom=custom, now=self.now)


def payload_prediction(*, bot: Bot, text: str, prediction: Prediction) -> Prediction:
    """A quick-reply payload ("/book_table") names its intent, so the classifier's guess is set aside."""
    match = _PAYLOAD.fullmatch(text.strip())
    if match is None:
        return prediction
    name = match.group(1)
    if name != HANDOFF_INTENT and name not in bot_dialogue(bot=bot).intents:
        return prediction
    return Prediction(intent=name, confidence=1.0, language="", ranking=[(name, 1.0)], out_of_scope=False)


def dialogue_step(
    *, bot: Bot, state: dict[str, Any], language: str, prediction: Prediction, text: str = "",
    now: datetime | None = None, action: ActionOutcome | None = None, handoff_available: bool = True,
) -> Turn:
    """The answer to one user turn. With `action`, the outcome of the action an earlier call of this same turn
    asked for (Turn.action); the turn then finishes with the backend's answer or the bot's failure response."""
    now = now or timezone.now()
    step = _Step(
        bot=bot, text=text, language=language, now=now, state=state,
        contexts=contexts_active(state=state, now=now), slots=dict(state.get("slots") or {}), action=action,
        handoff_available=handoff_available,
    )
    form = state.get("form")
    if form:
        turn = _form_turn(step, form=form, prediction=prediction)
        if turn is not None:
            return turn
    spec = _intent_choose(step, prediction=prediction)
    if spec is None:
        return _fallback_turn(step, form=form)
    return _intent_turn(step, spec=spec, open_form=form)


def _form_turn(step: _Step, *, form: dict[str, str], prediction: Prediction) -> Turn | None:
    """None when the turn is not about the form (another intent was asked): the form then stays open."""
    spec = bot_dialogue(bot=step.bot).intents.get(form["intent"])
    if spec is None:
        return None
    changes = _slots_fill(spec.slots, step.entities, requested=form["requested"])
    if changes:
        step.slots.update(changes)
        missing = _first_missing(spec, step.slots)
        return _prompt_turn(step, spec=spec, slot=missing) if missing else _answer(step, spec=spec, open_form=None)
    other = _intent_choose(step, prediction=prediction)
    if other is not None and other.name != spec.name:
        return None
    requested = next(slot for slot in spec.slots if slot.name == form["requested"])
    return _prompt_turn(step, spec=spec, slot=requested, prefix=texts.localized(texts.NOT_VALID, step.language))


def _intent_turn(step: _Step, *, spec: IntentSpec, open_form: dict[str, str] | None) -> Turn:
    if any(slot.required for slot in spec.slots):
        for slot in spec.slots:  # a new request starts empty; values from an earlier one are not reused
            step.slots.pop(slot.name, None)
        step.slots.update(_slots_fill(spec.slots, step.entities, requested=None))
        missing = _first_missing(spec, step.slots)
        if missing:
            return _prompt_turn(step, spec=spec, slot=missing)
        open_form = None
    return _answer(step, spec=spec, open_form=open_form)


def _answer(step: _Step, *, spec: IntentSpec, open_form: dict[str, str] | None) -> Turn:
    """The intent's response; a form left open by this digression is asked again after it."""
    handoff = spec.name == HANDOFF_INTENT
    sets = spec.sets
    if handoff and not step.handoff_available:
        chosen, handoff = (texts.localized(texts.HANDOFF_UNAVAILABLE, step.language), []), False
    elif spec.action and step.bot.action_url:
        request = ActionRequest(
            action=spec.action, intent=spec.name, slots=dict(step.slots), language=step.language, text=step.text
        )
        if step.action is None or step.action.request != request:
            return Turn(text="", intent=spec.name, language=step.language, state=step.state, action=request)
        chosen = _action_answer(step, spec=spec)
        sets = spec.sets if step.action.result.ok else []  # nothing was done: contexts such as "booked" stay unset
    else:
        chosen = _response(step, spec=spec)
    if chosen is None and not handoff:
        return _fallback_turn(step, form=open_form)
    text, buttons = chosen or (texts.localized(texts.HANDOFF_REQUESTED, step.language), [])
    if not step.handoff_available:
        buttons = [button for button in buttons if button.get("payload") != f"/{HANDOFF_INTENT}"]
    if open_form:
        requested = next((s for s in _form_slots(step, open_form) if s.name == open_form["requested"]), None)
        text = f"{text}\n{_prompt_text(step, requested)}" if requested else text
    return _finish(step, intent=spec.name, text=text, buttons=buttons, sets=sets, form=open_form, handoff=handoff)


def _action_answer(step: _Step, *, spec: IntentSpec) -> tuple[str, list[dict[str, str]]] | None:
    """The backend's text and buttons, else the intent's response rendered with the slots it set; on failure
    the bot's failure response, slots untouched."""
    result = step.action.result
    if not result.ok:
        choices = step.bot.action_failure_responses.get(step.language) or [
            texts.localized(texts.ACTION_FAILED, step.language)
        ]
        return random.choice(choices), []
    for name, value in result.slots.items():
        if value is None:
            step.slots.pop(name, None)
        else:
            step.slots[name] = value
    response = _response(step, spec=spec)
    if result.text is None:
        return (response[0], result.buttons if result.buttons is not None else response[1]) if response else None
    return result.text, result.buttons or []


def _fallback_turn(step: _Step, *, form: dict[str, str] | None) -> Turn:
    in_row = step.state.get("fallbacks_in_row", 0) + 1
    if in_row >= FALLBACKS_BEFORE_HANDOFF and step.handoff_available:
        text = texts.localized(texts.HANDOFF_OFFER, step.language)
        button = {"title": texts.localized(texts.HANDOFF_BUTTON, step.language), "payload": f"/{HANDOFF_INTENT}"}
        return _finish(step, intent=FALLBACK_INTENT, text=text, buttons=[button], form=form, fallbacks=in_row)
    choices = step.bot.fallback_responses.get(step.language) or [texts.localized(texts.DEFAULT_FALLBACK, step.language)]
    return _finish(step, intent=FALLBACK_INTENT, text=random.choice(choices), form=form, fallbacks=in_row)


def _prompt_turn(step: _Step, *, spec: IntentSpec, slot: SlotSpec, prefix: str = "") -> Turn:
    text = f"{prefix} {_prompt_text(step, slot)}".strip()
    return _finish(step, intent=spec.name, text=text, form={"intent": spec.name, "requested": slot.name})


def _finish(
    step: _Step, *, intent: str, text: str, buttons: list[dict[str, str]] | None = None, sets: list | None = None,
    form: dict[str, str] | None = None, fallbacks: int = 0, handoff: bool = False,
) -> Turn:
    state = {
        **step.state,
        "turns": step.state.get("turns", 0) + 1,
        "last_intent": intent,
        "fallbacks_in_row": fallbacks,
        "contexts": contexts_after_turn(active=step.contexts, sets=sets or [], now=step.now),
        "slots": step.slots,
        "form": form,
    }
    return Turn(text=text, intent=intent, language=step.language, state=state, buttons=buttons or [], handoff=handoff)


def _intent_choose(step: _Step, *, prediction: Prediction) -> IntentSpec | None:
    """The best ranked intent above the threshold whose needed contexts are all active."""
    threshold = step.bot.confidence_threshold
    if prediction.out_of_scope or prediction.confidence < threshold:
        return None
    ranking = [
        (prediction.intent, prediction.confidence),
        *[r for r in prediction.ranking if r[0] != prediction.intent],
    ]
    for name, score in ranking:
        if score < threshold:
            break
        spec = bot_dialogue(bot=step.bot).intents.get(name)
        if spec is None and name == HANDOFF_INTENT:
            spec = IntentSpec(name=name, slots=[], needs=[], sets=[], responses=[])
        if spec is not None and set(spec.needs) <= step.contexts.keys():
            return spec
    return None


def _slots_fill(slots: list[SlotSpec], entities: list[Found], *, requested: str | None) -> dict[str, Any]:
    """Entity values for the slots; the requested slot chooses first, any other slot takes a correction."""
    values: dict[str, Any] = {}
    used: set[int] = set()
    for slot in sorted(slots, key=lambda s: s.name != requested):
        index = next((i for i, e in enumerate(entities) if i not in used and e.entity == slot.entity), None)
        if index is not None:
            used.add(index)
            values[slot.name] = entities[index].value
    return values


def _first_missing(spec: IntentSpec, slots: dict[str, Any]) -> SlotSpec | None:
    return next((slot for slot in spec.slots if slot.required and slot.name not in slots), None)


def _form_slots(step: _Step, form: dict[str, str]) -> list[SlotSpec]:
    spec = bot_dialogue(bot=step.bot).intents.get(form["intent"])
    return spec.slots if spec else []


def _prompt_text(step: _Step, slot: SlotSpec) -> str:
    prompts = slot.prompts.get(step.language) or next(iter(slot.prompts.values()), None)
    return random.choice(prompts) if prompts else texts.localized(texts.ASK_SLOT, step.language).format(slot=slot.name)


def _response(step: _Step, *, spec: IntentSpec) -> tuple[str, list[dict[str, str]]] | None:
    """A response in the turn's language (any language if it has none), preferring one for an active context."""
    responses = [r for r in spec.responses if r.language == step.language] or spec.responses
    choices = [r for r in responses if r.context and r.context in step.contexts]
    choices = choices or [r for r in responses if not r.context]
    if not choices:
        return None
    chosen = random.choice(choices)
    return _render(chosen.text, step.slots), chosen.buttons


def _render(template: str, slots: dict[str, Any]) -> str:
    """Slot values are markdown-escaped and substituted once: a value cannot inject a link, emphasis or another
    placeholder. Clients render text as text, so no HTML escaping (it would show up as `&lt;`)."""

    def value(match: re.Match[str]) -> str:
        if match.group(1) not in slots:
            return match.group(0)
        shown = str(slots[match.group(1)])
        iso = _ISO_MINUTE.match(shown)
        return _MARKDOWN_SPECIAL.sub(r"\\\1", f"{iso.group(1)} {iso.group(2)}" if iso else shown)

    return _PLACEHOLDER.sub(value, template)
