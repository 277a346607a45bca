"""The integration API (docs/api.md): the Rasa-compatible REST channel, NLU parse and stateless turns.

Views are async (adrf) and thin: parse, check BotAccess, call one service off the event loop, format. Errors are
formatted by chatbot.api_errors.
"""
