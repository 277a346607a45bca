"""What a bot's operators use in the admin: the inbox of messages to review and the analytics dashboard.

`inbox.py` and `analytics.py` are the selectors (reads), `charts.py` draws SVG charts, `admin.py` the pages.
Writes are services: `conversations.services.messages_review`.
"""
