#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    from django.core.management import execute_from_command_line

    from chatbot.hardening import SERVER_COMMANDS, secret_key_require

    if sys.argv[1:2] and sys.argv[1] in SERVER_COMMANDS:
        secret_key_require()
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
