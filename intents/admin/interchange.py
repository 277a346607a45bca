"""Bot import and export in the admin: "Import…" on the bot list and page, "Export as Rasa / Dialogflow / CSV"."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from ..interchange import FORMATS, ImportFormatError, format_detect, read_files
from ..models import Bot, Language
from ..services import bot_export, bot_import

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class BotImportForm(forms.Form):
    file = forms.FileField(help_text="A Rasa project zip (or one nlu.yml / domain.yml), a Dialogflow ES agent zip, "
                                     "or a CSV of examples: intent,text[,lang].")  # fmt: skip
    slug = forms.SlugField(label="Bot", help_text="Slug of the bot to create or update.")
    fmt = forms.ChoiceField(label="Format", choices=[("", "Guess from the file"), *[(f, f) for f in FORMATS]],
                            required=False)  # fmt: skip
    lang = forms.ChoiceField(
        label="Language",
        required=False,
        choices=[("", "From the file (default en)"), *Language.choices],
        help_text="Language of a Rasa project without config.yml, or of CSV rows without a lang column.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"Larger than {MAX_UPLOAD_BYTES // 2**20} MiB.")
        return upload


class BotInterchangeAdminMixin:
    """For BotAdmin: the import form and the export downloads (templates/admin/intents/bot/)."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="intents_bot_import"),
            path("<int:pk>/import/", view(self.import_view), name="intents_bot_import_into"),
            path("<int:pk>/export/<str:fmt>/", view(self.export_view), name="intents_bot_export"),
            *super().get_urls(),
        ]

    def import_view(self, request, pk: int | None = None):
        bot = get_object_or_404(Bot, pk=pk) if pk is not None else None
        if not (self.has_change_permission(request, bot) if bot else self.has_add_permission(request)):
            raise PermissionDenied
        form = BotImportForm(request.POST or None, request.FILES or None, initial={"slug": bot.slug if bot else ""})
        if request.method == "POST" and form.is_valid():
            upload, data = form.cleaned_data["file"], form.cleaned_data
            try:
                files = read_files(upload.name, upload.read())
                result = bot_import(slug=data["slug"], fmt=data["fmt"] or format_detect(files), files=files,
                                    language=data["lang"] or None)  # fmt: skip
            except ImportFormatError as exc:
                form.add_error("file", f"Nothing imported: {exc}")
            else:
                action = "created" if result.created else "updated"
                self.message_user(request, f"Bot '{result.bot.slug}' {action}: {result.intents} intents, "
                                           f"{result.examples} examples imported.")  # fmt: skip
                for note in result.notes:
                    self.message_user(request, note, messages.WARNING)
                return redirect(reverse("admin:intents_bot_change", args=[result.bot.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form, "bot": bot,
                   "title": f"Import into {bot}" if bot else "Import a bot"}  # fmt: skip
        return TemplateResponse(request, "admin/intents/bot/import.html", context)

    def export_view(self, request, pk: int, fmt: str) -> HttpResponse:
        bot = get_object_or_404(Bot, pk=pk)
        if not self.has_view_permission(request, bot):
            raise PermissionDenied
        language = request.GET.get("lang") or None
        if fmt not in FORMATS or (language is not None and language not in bot.languages):
            raise Http404("Unknown format or language.")
        name, content = bot_export(bot=bot, fmt=fmt, language=language)
        content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/zip"
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
