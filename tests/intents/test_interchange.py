"""Import and export of bots: Rasa 3.x, Dialogflow ES and CSV, through the commands and the admin."""

import csv
import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from intents.models import Bot, Entity, Intent, Response, Slot, TrainingExample
from intents.selectors import bot_definition
from intents.services import bot_export, bot_import
from tests.intents.interchange_samples import MOODBOT, RESTAURANT, dialogflow_agent_zip

pytestmark = pytest.mark.django_db


def normalized(definition: dict) -> dict:
    """A definition with its lists in a fixed order and its identity (slug) left out, for comparison."""

    def sort(value):
        if isinstance(value, dict):
            return {k: sort(v) for k, v in value.items() if k != "slug" or "examples" in value}
        if isinstance(value, list):
            return sorted((sort(v) for v in value), key=repr)
        return value

    return sort(definition)


def unzip(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def write(folder, files: dict[str, str]):
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_the_database_export_of_the_demo_bot_is_its_definition_file(demo_bot, demo_definition):
    """Exporting from the database gives back the definition the demo bot was loaded from."""
    exported = bot_definition(bot=demo_bot)
    for intent in exported["intents"]:
        for slot in intent.get("slots", []):
            assert slot.pop("required") is True  # the file leaves the default out
    assert normalized(exported) == normalized({**demo_definition, "allowed_origins": [], "entities": []})


@pytest.mark.parametrize(
    "fmt, native",
    [
        ("rasa", [("en/domain.yml", "actions:\n- action_book_table\n"),
                  ("es/data/rules.yml", "- action: action_book_table")]),
        ("dialogflow", [("intents/book_table.json", '"action": "book_table"'),
                        ("intents/book_table.json", '"webhookUsed": true')]),
    ],
)  # fmt: skip
def test_export_then_import_round_trips_the_demo_bot(demo_bot, fmt, native, tmp_path):
    """Export → import into a new bot gives the same definition: examples, responses, buttons, slots, contexts,
    context responses, entities, fallback, threshold, name, in both languages; book_table's action (as the
    format's custom action / webhook action), the action timeout and failure responses, but never the
    deployment's action URL and secret."""
    Entity.objects.create(bot=demo_bot, name="order_number", kind="regex", pattern=r"ORD-\d{5}")
    diet = Entity.objects.create(bot=demo_bot, name="diet", kind="lookup")
    diet.values.create(value="vegetarian", synonyms=["veggie"])
    diet.values.create(value="vegano", synonyms=["vegan"], language="es")
    demo_bot.action_timeout, demo_bot.action_url, demo_bot.action_secret = 2.5, "http://127.0.0.1:9/a/", "s3cr3t"
    demo_bot.save()
    name, content = bot_export(bot=demo_bot, fmt=fmt)
    (tmp_path / name).write_bytes(content)
    files = unzip(content)
    assert all(text in files[file] for file, text in native)
    assert not any("127.0.0.1:9" in text or "s3cr3t" in text for text in files.values())

    notes = io.StringIO()
    call_command("import_bot", str(tmp_path / name), "--bot", "copy", stdout=io.StringIO(), stderr=notes)

    copy = Bot.objects.get(slug="copy")
    assert normalized(bot_definition(bot=copy)) == normalized(bot_definition(bot=demo_bot))
    assert Intent.objects.get(bot=copy, name="book_table").action == "book_table"
    assert (copy.action_timeout, copy.action_url) == (2.5, "")
    assert copy.action_secret and copy.action_secret != "s3cr3t"  # its own, random: calls are never signed unkeyed
    assert "Rotate the action secret" in notes.getvalue() and copy.action_secret not in notes.getvalue()
    assert set(copy.action_failure_responses) == {"en", "es"}
    assert copy.action_failure_responses == demo_bot.action_failure_responses


def test_a_bilingual_rasa_export_is_one_project_per_language(demo_bot):
    """Rasa projects have one language: the zip holds en/ and es/ projects; --lang gives one at the root."""
    files = unzip(bot_export(bot=demo_bot, fmt="rasa")[1])
    assert {"en/config.yml", "en/domain.yml", "en/data/nlu.yml", "es/data/nlu.yml", "charla.yml"} <= set(files)
    assert "language: es" in files["es/config.yml"] and "- hola\n" in files["es/data/nlu.yml"]
    single = unzip(bot_export(bot=demo_bot, fmt="rasa", language="es")[1])
    assert (
        "data/nlu.yml" in single and "- hola\n" in single["data/nlu.yml"] and "- hello\n" not in single["data/nlu.yml"]
    )


def test_csv_export_then_import_round_trips_the_examples(demo_bot):
    """A CSV holds examples only: re-imported into a new bot, every example of every language is back."""
    name, content = bot_export(bot=demo_bot, fmt="csv")
    assert content.decode().startswith("intent,text,lang\n")
    bot_import(slug="copy", fmt="csv", files={name: content.decode()})
    copy = Bot.objects.get(slug="copy")

    def examples(bot):
        return sorted(TrainingExample.objects.filter(intent__bot=bot).values_list("intent__name", "language", "text"))

    assert examples(copy) == examples(demo_bot) and copy.languages == ["en", "es"]


FORMULA_LIKE = ['=HYPERLINK("http://evil.example","win")', "+34 600 000 000", "-1 is my answer", "@help me", "'=quoted"]


def test_a_csv_export_guards_formula_like_texts_and_imports_them_back_unchanged(demo_bot):
    """Examples a spreadsheet would run as a formula are written with a leading `'` (one more for a text that
    starts with a quote already); importing the file gives back exactly the stored texts."""
    intent = demo_bot.intents.get(name="greet")
    TrainingExample.objects.bulk_create(TrainingExample(intent=intent, language="en", text=t) for t in FORMULA_LIKE)
    name, content = bot_export(bot=demo_bot, fmt="csv")
    cells = {row[1] for row in csv.reader(io.StringIO(content.decode()))}
    assert {"'" + text for text in FORMULA_LIKE} <= cells and not cells & set(FORMULA_LIKE)
    bot_import(slug="copy", fmt="csv", files={name: content.decode()})
    copied = TrainingExample.objects.filter(intent__bot__slug="copy", intent__name="greet", language="en")
    assert set(FORMULA_LIKE) <= set(copied.values_list("text", flat=True))


def test_the_rasa_mood_bot_imports_with_its_responses_forms_and_entities(db, tmp_path):
    """`rasa init`'s project plus a form: annotations are stripped, responses follow stories and rules,
    form slots get their entities and prompts, synonyms/regexes/lookups become the bot's entities."""
    folder = write(tmp_path / "moodbot", MOODBOT | RESTAURANT)
    err = io.StringIO()
    call_command("import_bot", str(folder), "--bot", "mood", stdout=io.StringIO(), stderr=err)

    bot = Bot.objects.get(slug="mood")
    assert bot.languages == ["en"] and bot.name == "mood"
    answers = {i.name: sorted(i.responses.values_list("text", flat=True)) for i in Intent.objects.filter(bot=bot)}
    assert answers == {
        "greet": ["Hey! How are you?"], "goodbye": ["Bye"], "bot_challenge": ["I am a bot, powered by Rasa."],
        "mood_great": ["Great, carry on!"], "affirm": ["Great, carry on!"], "deny": ["Bye"],
        "mood_unhappy": ["Here is something to cheer you up:"],
        "request_restaurant": ["A {cuisine} table for {num_people}: on it!"],
    }  # fmt: skip
    restaurant = set(TrainingExample.objects.filter(intent__name="request_restaurant").values_list("text", flat=True))
    assert restaurant == {"I want a table for 4 people", "book a vegetarian restaurant", "find me a veggie place",
                          "somewhere italian for dinner"}  # fmt: skip
    slots = list(Slot.objects.filter(intent__bot=bot).values_list("name", "entity", "prompts"))
    assert slots == [
        ("cuisine", "cuisine", {"en": ["What cuisine?"]}),
        ("num_people", "sys.number", {"en": ["How many people?"]}),
    ]
    cuisine = Entity.objects.get(bot=bot, name="cuisine")
    assert cuisine.kind == "lookup"
    assert sorted(cuisine.values.values_list("value", "synonyms")) == [
        ("italian", []), ("vegetarian", ["veggie", "vegan friendly"])]  # fmt: skip
    assert Entity.objects.get(bot=bot, name="order_number").pattern == r"ORD-\d{5}"
    assert "utter_did_that_help answers no intent" in err.getvalue()


def test_a_dialogflow_agent_zip_imports_from_the_admin(admin_client):
    """The admin's Import… takes a Dialogflow ES zip: both languages' examples and responses, the fallback,
    output contexts, parameters as slots (unknown system entities skipped, said so), entities by language."""
    upload = io.BytesIO(dialogflow_agent_zip())
    upload.name = "Pizzeria.zip"
    response = admin_client.post("/admin/intents/bot/import/", {"file": upload, "slug": "pizza", "fmt": "", "lang": ""})
    assert response.status_code == 302, response.content.decode()

    bot = Bot.objects.get(slug="pizza")
    assert (bot.name, bot.languages, bot.confidence_threshold) == ("Pizzería", ["es", "en"], 0.4)
    assert bot.fallback_responses == {"es": ["No te he entendido."], "en": ["Sorry, what was that?"]}
    order = Intent.objects.get(bot=bot, name="order_pizza")
    assert sorted(order.examples.values_list("language", "text")) == [
        ("en", "I want a pizza"),
        ("en", "a mushroom pizza please"),
        ("es", "quiero una pizza de champiñones"),
    ]
    assert sorted(order.responses.values_list("language", flat=True)) == ["en", "es"]
    assert list(order.contexts.values_list("name", "direction", "lifespan_turns")) == [("ordered", "sets", 3)]
    assert list(order.slots.values_list("name", "entity", "required")) == [
        ("topping", "topping", True),
        ("size", "sys.number", False),
    ]
    assert sorted(Entity.objects.get(bot=bot, name="topping").values.values_list("value", "synonyms", "language")) == [
        ("champiñones", ["setas"], "es"),
        ("mushroom", ["mushrooms"], "en"),
        ("queso", [], ""),
    ]
    assert Intent.objects.filter(bot=bot, name="default_welcome_intent").exists()
    page = admin_client.get(f"/admin/intents/bot/{bot.pk}/change/").content.decode()
    assert "sys.geo-city" in page  # the note on what was skipped
    assert "Export as Dialogflow" in page


def test_admin_export_buttons_download_each_format(admin_client, demo_bot):
    """Export as Rasa / Dialogflow / CSV download a zip, a zip and a CSV file; the list links the import form,
    which the bot's page opens filled with its slug; an unknown format is a 404."""
    for fmt, kind in [("rasa", "application/zip"), ("dialogflow", "application/zip"), ("csv", "text/csv")]:
        response = admin_client.get(f"/admin/intents/bot/{demo_bot.pk}/export/{fmt}/")
        assert response.status_code == 200 and response["Content-Type"].startswith(kind)
        assert "attachment" in response["Content-Disposition"]
    assert "agent.json" in unzip(admin_client.get(f"/admin/intents/bot/{demo_bot.pk}/export/dialogflow/").content)
    assert 'href="/admin/intents/bot/import/"' in admin_client.get("/admin/intents/bot/").content.decode()
    form = admin_client.get(f"/admin/intents/bot/{demo_bot.pk}/import/").content.decode()
    assert 'id="bot-import"' in form and 'value="demo"' in form
    assert admin_client.get(f"/admin/intents/bot/{demo_bot.pk}/export/yaml/").status_code == 404


def test_importing_one_language_keeps_the_other(demo_bot, tmp_path):
    """An English Rasa project replaces English examples and responses of the intents it names; Spanish stays,
    and so do the intents it does not name."""
    nlu = 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - howdy partner\n'
    domain = 'version: "3.1"\nresponses:\n  utter_greet:\n  - text: "Yo!"\n'
    folder = write(tmp_path / "p", {"data/nlu.yml": nlu, "domain.yml": domain})
    spanish_before = set(
        TrainingExample.objects.filter(intent__bot=demo_bot, language="es").values_list("text", flat=True)
    )
    call_command("import_bot", str(folder), "--bot", "demo", "--lang", "en", stdout=io.StringIO())
    greet = Intent.objects.get(bot=demo_bot, name="greet")
    assert list(greet.examples.filter(language="en").values_list("text", flat=True)) == ["howdy partner"]
    assert list(greet.responses.filter(language="en").values_list("text", flat=True)) == ["Yo!"]
    assert (
        set(TrainingExample.objects.filter(intent__bot=demo_bot, language="es").values_list("text", flat=True))
        == spanish_before
    )
    assert Intent.objects.get(bot=demo_bot, name="book_table").slots.count() == 3


@pytest.mark.parametrize(
    "files, expected",
    [
        (
            {"data/nlu.yml": 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n  - oops: [\n'},
            "data/nlu.yml, line 6: invalid YAML",
        ),
        (
            {"data/nlu.yml": 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    hello\n'},
            "data/nlu.yml, line 6: example lines start with '- '",
        ),
        (
            {
                "data/nlu.yml": 'nlu:\n- intent: greet\n  examples: |\n    - hi\n'
                '- intent: "bad name!"\n  examples: "- x"\n'
            },
            "data/nlu.yml, line 5: intent 'bad name!' is not a valid name",
        ),
        (
            {"examples.csv": "intent,text,lang\ngreet,hola,es\ngreet,hi,en,extra\n"},
            "examples.csv, line 3: expected 2 or 3 columns",
        ),
        ({"examples.csv": "greet,hola,es\ngreet,bonjour,fr\n"}, "examples.csv, line 2: language 'fr' is not supported"),
        ({"agent.json": '{"language": "en",\n "displayName": "x",\n}'}, "agent.json, line 3: invalid JSON"),
        (
            {
                "agent.json": '{"language": "en"}',
                "intents/a.json": '{"name": "a", "responses": [{}]}',
                "intents/a_usersays_en.json": '[{"data": [{"text": "' + "x" * 501 + '"}]}]',
            },
            "intents/a_usersays_en.json [phrase 1]: text longer than 500 characters",
        ),
        (
            {"en/data/nlu.yml": "nlu:\n- intent: greet\n  examples: |\n    - hi\n", "es/data/nlu.yml": "nlu: [\n"},
            "es/data/nlu.yml, line 2: invalid YAML",
        ),
        (
            {"agent.json": '{"language": "en"}', "intents/a.json": '{"name": "a", "responses": "oops"}'},
            "intents/a.json: unexpected structure",
        ),
        (
            {"data/nlu.yml": "nlu:\n- intent: greet\n  metadata:\n    charla_contexts: {sets: [{name: bad name}]}\n"},
            "(intent greet): context 'bad name' is not a valid name",
        ),
        (
            {
                "agent.json": '{"language": "en"}',
                "intents/a.json": '{"name": "a", "webhookUsed": true, "responses": [{"action": "../admin"}]}',
            },
            "intents/a.json: action '../admin' is not a relative path",
        ),
        (
            {
                "data/nlu.yml": "nlu:\n- intent: greet\n  examples: |\n    - hi\n",
                "charla.yml": "actions: {timeout: 300}\n",
            },
            "charla.yml: action timeout 300 is not a number of seconds from 0.1 to 30.0",
        ),
    ],
)
def test_a_bad_file_names_the_file_and_line_and_changes_nothing(demo_bot, tmp_path, files, expected):
    """Syntax and content errors stop the import before any write, with the file and line in the message."""
    before = bot_definition(bot=demo_bot)
    folder = write(tmp_path / "bad", files)
    target = folder / "examples.csv" if "examples.csv" in files else folder
    with pytest.raises(CommandError) as error:
        call_command("import_bot", str(target), "--bot", "demo", stdout=io.StringIO())
    assert expected in str(error.value)
    assert bot_definition(bot=demo_bot) == before


def test_a_slot_with_an_unknown_entity_is_refused_before_any_write(demo_bot):
    """A slot naming an entity neither built in nor defined is refused; no intent of the file is written."""
    files = {"agent.json": '{"language": "en"}',
             "intents/new_intent.json": '{"name": "new_intent", "responses": [{"parameters": [{"name": "p", '
                                        '"dataType": "@missing", "required": true}]}]}'}  # fmt: skip
    with pytest.raises(Exception, match="unknown entity 'missing'"):
        bot_import(slug="demo", fmt="dialogflow", files=files)
    assert not Intent.objects.filter(bot=demo_bot, name="new_intent").exists()
    assert Response.objects.filter(intent__bot=demo_bot).count() > 0


def test_a_bad_upload_in_the_admin_shows_the_error_and_changes_nothing(admin_client, demo_bot):
    """The admin's import form shows the file and line of the error on the form, and the bot is unchanged."""
    before = bot_definition(bot=demo_bot)
    upload = io.BytesIO(b"intent,text,lang\ngreet,hola,es\ngreet,bonjour,fr\n")
    upload.name = "extra.csv"
    response = admin_client.post(f"/admin/intents/bot/{demo_bot.pk}/import/", {"file": upload, "slug": "demo"})
    assert response.status_code == 200
    assert "Nothing imported: extra.csv, line 3: language &#x27;fr&#x27; is not supported" in response.content.decode()
    assert bot_definition(bot=demo_bot) == before


def test_reimporting_an_edited_export_applies_removals(demo_bot, tmp_path):
    """An intent file is complete: a parameter, the quick replies and the webhook (the action) deleted from a
    Dialogflow export are gone from the bot after importing it back, and the rest is unchanged; edited action
    failure texts are applied, an edited action timeout is not (an existing bot keeps its settings)."""
    files = unzip(bot_export(bot=demo_bot, fmt="dialogflow")[1])
    book = json.loads(files["intents/book_table.json"])
    book["responses"][0]["parameters"] = [p for p in book["responses"][0]["parameters"] if p["name"] != "email"]
    book["webhookUsed"] = False
    files["intents/book_table.json"] = json.dumps(book)
    fallback = json.loads(files["intents/Default Fallback Intent.json"])
    settings = next(m for m in fallback["responses"][0]["messages"] if m["type"] == "4" and m["lang"] == "en")
    settings["payload"]["charla"] = {
        "language": {"action_failure": ["Booking failed."]},
        "agent": {"action_timeout": 9},
    }
    files["intents/Default Fallback Intent.json"] = json.dumps(fallback)
    helper = json.loads(files["intents/help.json"])
    helper["responses"][0]["messages"] = [m for m in helper["responses"][0]["messages"] if m["type"] != "4"]
    files["intents/help.json"] = json.dumps(helper)
    before = bot_definition(bot=demo_bot)

    bot_import(slug="demo", fmt="dialogflow", files=files)

    after = bot_definition(bot=Bot.objects.get(pk=demo_bot.pk))
    intents = {intent["slug"]: intent for intent in after["intents"]}
    assert [slot["name"] for slot in intents["book_table"]["slots"]] == ["people", "when"]
    assert "action" not in intents["book_table"] and after["actions"]["timeout"] == 5
    assert after["actions"]["failure"] == {**before["actions"]["failure"], "en": ["Booking failed."]}
    assert "buttons" not in intents["help"] and not Response.objects.filter(intent__name="help").exclude(buttons=[])
    unchanged = [i for i in before["intents"] if i["slug"] not in ("book_table", "help")]
    assert normalized(unchanged) == normalized([i for i in after["intents"] if i["slug"] not in ("book_table", "help")])
