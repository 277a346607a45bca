from django.urls import path

from .views import book_table

urlpatterns = [path("book_table", book_table, name="demo-action-book-table")]
