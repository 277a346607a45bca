"""Calling a bot's action backend: one signed POST, its answer validated; never raises for the backend's faults.

At-least-once: the call happens with no transaction or lock open, before the answer is stored; a worker that
dies in between leaves the message pending, and its next try calls the backend again with the same
Idempotency-Key (the message id). docs/actions.md is the contract for customers.
"""

import json
import logging
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import requests

from intents.action_signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, action_signature
from intents.classifier import Prediction
from intents.models import Bot

from ..dialogue import ActionOutcome, ActionRequest, ActionResult, Turn, dialogue_step

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024
MAX_TEXT_CHARS = 4000
MAX_BUTTONS = 10
MAX_SLOT_VALUE_CHARS = 1000
_SLOT_NAME = re.compile(r"\w{1,100}")
_local = threading.local()


@dataclass(frozen=True)
class ActionCall:
    """One action to call: where, for which bot, conversation and message (None for a stateless turn)."""

    url: str
    secret: str
    timeout: float
    bot: str
    request: ActionRequest
    conversation_id: str | None = None
    message_id: int | None = None


def action_call_for(
    *, bot: Bot, request: ActionRequest, conversation_id: Any = None, message_id: int | None = None
) -> ActionCall:
    """The call of `request` with the bot's action settings."""
    return ActionCall(
        url=f"{bot.action_url.rstrip('/')}/{request.action}", secret=bot.action_secret, timeout=bot.action_timeout,
        bot=bot.slug, request=request, conversation_id=None if conversation_id is None else str(conversation_id),
        message_id=message_id,
    )  # fmt: skip


def action_run(*, call: ActionCall) -> ActionOutcome:
    """POST the call, signed, and validate the answer. Down, slow past the timeout, non-2xx, too big, not JSON
    or not the documented shape: a failed result (logged), never an exception."""
    started = time.monotonic()
    try:
        result = _result_parse(_post(call))
    except _ActionFailed as failure:
        result = ActionResult(ok=False, error=str(failure))
    elapsed_ms = (time.monotonic() - started) * 1000
    if result.ok:
        logger.info("action %s for message %s answered in %.0f ms", call.url, call.message_id, elapsed_ms)
    else:
        logger.warning("action %s for message %s failed after %.0f ms: %s", call.url, call.message_id, elapsed_ms,
                       result.error)  # fmt: skip
    return ActionOutcome(request=call.request, result=result)


def actions_run(*, calls: list[ActionCall]) -> list[ActionOutcome]:
    """Several calls at once (a batch's), each with its own timeout; outcomes in the calls' order."""
    if len(calls) <= 1:
        return [action_run(call=call) for call in calls]
    with ThreadPoolExecutor(max_workers=min(len(calls), 8)) as pool:
        return list(pool.map(lambda call: action_run(call=call), calls))


def dialogue_step_acting(
    *, bot: Bot, state: dict[str, Any], language: str, prediction: Prediction, text: str, **options: Any
) -> Turn:
    """dialogue_step for a caller that keeps no conversation (a stateless turn): an action the turn reaches is
    called here, and the turn finished with its outcome. The caller must hold no lock or transaction. `options`
    are dialogue_step's other keywords (`now`, `handoff_available`)."""
    step = partial(dialogue_step, bot=bot, state=state, language=language, prediction=prediction, text=text, **options)
    turn = step()
    if turn.action is None:
        return turn
    return step(action=action_run(call=action_call_for(bot=bot, request=turn.action)))


class _ActionFailed(Exception):
    pass


def action_payload(call: ActionCall) -> bytes:
    request = call.request
    payload = {"intent": request.intent, "slots": request.slots, "language": request.language,
               "conversation_id": call.conversation_id, "message_id": call.message_id, "bot": call.bot,
               "text": request.text}  # fmt: skip
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _post(call: ActionCall) -> Any:
    """The backend's JSON answer. The timeout bounds the whole call, reading the body included."""
    body = action_payload(call)
    timestamp = int(time.time())
    signature = action_signature(secret=call.secret, timestamp=timestamp, body=body)
    headers = {
        "Content-Type": "application/json", "User-Agent": "Charla-Actions/1",
        TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature,
        IDEMPOTENCY_HEADER: str(call.message_id) if call.message_id is not None else uuid.uuid4().hex,
    }  # fmt: skip
    deadline = time.monotonic() + call.timeout
    try:
        with _session().post(call.url, data=body, headers=headers, timeout=call.timeout, stream=True,
                             allow_redirects=False) as response:  # fmt: skip
            if not 200 <= response.status_code < 300:
                raise _ActionFailed(f"the backend answered HTTP {response.status_code}")
            content = bytearray()
            for chunk in response.iter_content(8192):
                content += chunk
                if len(content) > MAX_RESPONSE_BYTES:
                    raise _ActionFailed(f"the answer is larger than {MAX_RESPONSE_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise requests.Timeout()
    except requests.Timeout as error:
        raise _ActionFailed(f"no answer within {call.timeout:g} s") from error
    except requests.RequestException as error:
        raise _ActionFailed(f"the backend is unreachable: {type(error).__name__}: {error}") from error
    try:
        return json.loads(content)
    except ValueError as error:
        raise _ActionFailed(f"the answer is not JSON: {error}") from error


def _session() -> requests.Session:
    """One connection pool per thread: requests does not promise a Session is safe to share between threads."""
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
        _local.session.trust_env = False  # a proxy set for the host's other traffic must not see signed calls
    return _local.session


def _result_parse(answer: Any) -> ActionResult:
    """The documented shape, checked: {"text"?: str, "buttons"?: [{"title", "payload"}], "slots"?: {name: scalar}}.
    Other keys are ignored."""
    if not isinstance(answer, dict):
        raise _ActionFailed(f"the answer must be a JSON object, not {type(answer).__name__}")
    text = answer.get("text")
    if text is not None and not (isinstance(text, str) and text.strip() and len(text) <= MAX_TEXT_CHARS):
        raise _ActionFailed(f"text must be a non-empty string of at most {MAX_TEXT_CHARS} characters")
    buttons = answer.get("buttons")
    if buttons is not None and not _buttons_valid(buttons):
        raise _ActionFailed(f'buttons must be a list of at most {MAX_BUTTONS} {{"title": str, "payload": str}}')
    slots = answer.get("slots") or {}
    if not isinstance(slots, dict):
        raise _ActionFailed("slots must be an object")
    for name, value in slots.items():
        if not _SLOT_NAME.fullmatch(name):
            raise _ActionFailed(f"slot name {name!r} must be 1 to 100 letters, digits or _")
        if not _slot_value_valid(value):
            raise _ActionFailed(f"slot {name} must be a string, number, boolean or null")
    return ActionResult(ok=True, slots=slots, text=text, buttons=buttons)


def _buttons_valid(buttons: Any) -> bool:
    return isinstance(buttons, list) and len(buttons) <= MAX_BUTTONS and all(
        isinstance(b, dict) and set(b) == {"title", "payload"}
        and all(isinstance(v, str) and 0 < len(v) <= 200 for v in b.values())
        for b in buttons
    )  # fmt: skip


def _slot_value_valid(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_SLOT_VALUE_CHARS
    return value is None or isinstance(value, (bool, int, float)) and value == value  # NaN is not JSON
