"""Files in other tools' formats, as those tools write them, for the import tests.

The mood bot is `rasa init`'s project (Rasa 3.x: config.yml, domain.yml, data/nlu.yml, data/stories.yml,
data/rules.yml), verbatim but for the shortened example lists. The restaurant part adds what the mood bot lacks,
in the shapes Rasa's documentation gives them: entity annotations, a synonym, a regex, a lookup, slots and a form.
"""

import io
import json
import zipfile

MOODBOT = {
    "config.yml": """\
recipe: default.v1
assistant_id: placeholder_default
language: en
pipeline:
policies:
""",
    "domain.yml": """\
version: "3.1"

intents:
  - greet
  - goodbye
  - affirm
  - deny
  - mood_great
  - mood_unhappy
  - bot_challenge

responses:
  utter_greet:
  - text: "Hey! How are you?"

  utter_cheer_up:
  - text: "Here is something to cheer you up:"
    image: "https://i.imgur.com/nGF1K8f.jpg"

  utter_did_that_help:
  - text: "Did that help you?"

  utter_happy:
  - text: "Great, carry on!"

  utter_goodbye:
  - text: "Bye"

  utter_iamabot:
  - text: "I am a bot, powered by Rasa."

session_config:
  session_expiration_time: 60
  carry_over_slots_to_new_session: true
""",
    "data/nlu.yml": """\
version: "3.1"

nlu:
- intent: greet
  examples: |
    - hey
    - hello
    - hi
    - hello there
    - good morning

- intent: goodbye
  examples: |
    - cu
    - good by
    - cee you later
    - bye

- intent: affirm
  examples: |
    - yes
    - y
    - indeed

- intent: deny
  examples: |
    - no
    - n
    - never

- intent: mood_great
  examples: |
    - perfect
    - great
    - amazing

- intent: mood_unhappy
  examples: |
    - my day was horrible
    - I am sad
    - I don't feel very well

- intent: bot_challenge
  examples: |
    - are you a bot?
    - are you a human?
""",
    "data/stories.yml": """\
version: "3.1"

stories:

- story: happy path
  steps:
  - intent: greet
  - action: utter_greet
  - intent: mood_great
  - action: utter_happy

- story: sad path 1
  steps:
  - intent: greet
  - action: utter_greet
  - intent: mood_unhappy
  - action: utter_cheer_up
  - action: utter_did_that_help
  - intent: affirm
  - action: utter_happy

- story: sad path 2
  steps:
  - intent: greet
  - action: utter_greet
  - intent: mood_unhappy
  - action: utter_cheer_up
  - action: utter_did_that_help
  - intent: deny
  - action: utter_goodbye
""",
    "data/rules.yml": """\
version: "3.1"

rules:

- rule: Say goodbye anytime the user says goodbye
  steps:
  - intent: goodbye
  - action: utter_goodbye

- rule: Say 'I am a bot' anytime the user challenges
  steps:
  - intent: bot_challenge
  - action: utter_iamabot
""",
}

RESTAURANT = {
    "data/restaurant.yml": """\
version: "3.1"
nlu:
- intent: request_restaurant
  examples: |
    - I want a table for [4](number) people
    - book a [vegetarian](cuisine) restaurant
    - find me a [veggie](cuisine:vegetarian) place
    - somewhere [italian]{"entity": "cuisine"} for dinner
- synonym: vegetarian
  examples: |
    - veggie
    - vegan friendly
- regex: order_number
  examples: |
    - ORD-\\d{5}
- lookup: cuisine
  examples: |
    - vegetarian
    - italian
rules:
- rule: activate restaurant form
  steps:
  - intent: request_restaurant
  - action: restaurant_form
  - active_loop: restaurant_form
- rule: submit restaurant form
  condition:
  - active_loop: restaurant_form
  steps:
  - action: restaurant_form
  - active_loop: null
  - slot_was_set:
    - requested_slot: null
  - action: utter_submit
""",
    "domain_restaurant.yml": """\
version: "3.1"
intents:
  - request_restaurant
entities:
  - cuisine
  - number
slots:
  cuisine:
    type: text
    mappings:
    - type: from_entity
      entity: cuisine
  num_people:
    type: float
    mappings:
    - type: from_entity
      entity: number
forms:
  restaurant_form:
    required_slots:
      - cuisine
      - num_people
responses:
  utter_ask_cuisine:
  - text: "What cuisine?"
  utter_ask_num_people:
  - text: "How many people?"
  utter_submit:
  - text: "A {cuisine} table for {num_people}: on it!"
""",
}


def dialogflow_agent_zip() -> bytes:
    """A Dialogflow ES agent, as "Export and restore" writes one: Spanish first, English supported."""

    def intent(name, messages, contexts=(), affected=(), parameters=(), fallback=False):
        return {
            "id": name,
            "name": name,
            "auto": True,
            "contexts": list(contexts),
            "responses": [
                {
                    "resetContexts": False,
                    "action": "input.unknown" if fallback else "",
                    "affectedContexts": list(affected),
                    "parameters": list(parameters),
                    "messages": messages,
                    "speech": [],
                }
            ],
            "priority": 500000,
            "webhookUsed": False,
            "webhookForSlotFilling": False,
            "fallbackIntent": fallback,
            "events": [],
        }

    def text(lang, *speech):
        return {"type": 0, "lang": lang, "condition": "", "speech": list(speech)}

    def says(*texts):
        return [
            {"id": str(i), "data": [{"text": t, "userDefined": False}], "isTemplate": False, "count": 0, "updated": 0}
            for i, t in enumerate(texts)
        ]

    files = {
        "agent.json": {"description": "", "language": "es", "supportedLanguages": ["en"], "displayName": "Pizzería",
                       "mlMinConfidence": 0.4, "defaultTimezone": "Europe/Madrid"},
        "package.json": {"version": "1.0.0"},
        "intents/Default Welcome Intent.json": intent("Default Welcome Intent", [
            text("es", "¡Hola! ¿Qué pizza te apetece?"), text("en", "Hi! Which pizza would you like?")]),
        "intents/Default Welcome Intent_usersays_es.json": says("hola", "buenas"),
        "intents/Default Welcome Intent_usersays_en.json": says("hello", "hi"),
        "intents/order.pizza.json": intent("order.pizza", [
            text("es", "Una pizza de $topping para $size personas, marchando."),
            text("en", "A $topping pizza for $size, coming up.")],
            affected=[{"name": "ordered", "lifespan": 3, "parameters": {}}],
            parameters=[
                {"name": "topping", "required": True, "dataType": "@topping", "value": "$topping",
                 "prompts": [{"lang": "es", "value": "¿De qué la quieres?"},
                             {"lang": "en", "value": "Which topping?"}]},
                {"name": "size", "required": False, "dataType": "@sys.number", "value": "$size", "prompts": []},
                {"name": "where", "required": False, "dataType": "@sys.geo-city", "value": "$where", "prompts": []},
            ]),
        "intents/order.pizza_usersays_es.json": [{"id": "x", "data": [
            {"text": "quiero una pizza de ", "userDefined": False},
            {"text": "champiñones", "alias": "topping", "meta": "@topping", "userDefined": True}]}],
        "intents/order.pizza_usersays_en.json": says("I want a pizza", "a mushroom pizza please"),
        "intents/Default Fallback Intent.json": intent("Default Fallback Intent", [
            text("es", "No te he entendido."), text("en", "Sorry, what was that?")], fallback=True),
        "entities/topping.json": {"id": "t", "name": "topping", "isOverridable": True, "isEnum": False,
                                  "isRegexp": False, "automatedExpansion": False},
        "entities/topping_entries_es.json": [{"value": "champiñones", "synonyms": ["champiñones", "setas"]},
                                             {"value": "queso", "synonyms": ["queso"]}],
        "entities/topping_entries_en.json": [{"value": "mushroom", "synonyms": ["mushroom", "mushrooms"]},
                                             {"value": "queso", "synonyms": ["queso"]}],
    }  # fmt: skip
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"Pizzeria/{name}", json.dumps(data, ensure_ascii=False, indent=2))
    return buffer.getvalue()
