import os

from django.core.wsgi import get_wsgi_application

from chatbot.hardening import secret_key_require

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
secret_key_require()
application = get_wsgi_application()
