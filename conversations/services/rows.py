"""Rows written as plain SQL: the answer path's inserts and updates, cheaper than the ORM's bulk methods."""

from typing import Any

from django.db import connection


def rows_insert(rows: list[Any]) -> None:
    """What QuerySet.bulk_create does for rows with an auto primary key, as one plain INSERT … RETURNING that
    sets their keys: 0.1 ms less CPU than `create` for a visitor's message, 0.4 ms less than `bulk_create` for a
    batch of four replies. Defaults come from the model's constructor and each field's pre_save (auto_now_add),
    values go through get_db_prep_save; no save signals, like bulk_create."""
    meta = type(rows[0])._meta
    columns = [field for field in meta.concrete_fields if field is not meta.auto_field]
    quote = connection.ops.quote_name
    row_placeholders = f"({', '.join(['%s'] * len(columns))})"
    sql = "INSERT INTO {} ({}) VALUES {} RETURNING {}".format(
        quote(meta.db_table), ", ".join(quote(column.column) for column in columns),
        ", ".join([row_placeholders] * len(rows)), quote(meta.pk.column),
    )  # fmt: skip
    params = [column.get_db_prep_save(column.pre_save(row, True), connection) for row in rows for column in columns]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [key for (key,) in cursor.fetchall()]
    for row, key in zip(rows, keys, strict=True):
        row.pk = key
        row._state.adding, row._state.db = False, connection.alias


def rows_update(rows: list[Any], fields: list[str]) -> None:
    """What QuerySet.bulk_update does, as one plain UPDATE per row sent together (psycopg pipelines
    executemany). bulk_update builds a CASE per field and row; in the answer worker it cost more CPU than the
    model. Values go through each field's own conversion (get_db_prep_save); no save signals, like bulk_update.
    A single row is a plain execute: entering and draining psycopg's pipeline costs more than the statement."""
    meta = type(rows[0])._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(meta.db_table), ", ".join(f"{quote(column.column)} = %s" for column in columns), quote(meta.pk.column)
    )
    params = [[column.get_db_prep_save(getattr(row, column.attname), connection) for column in columns]
              + [meta.pk.get_db_prep_save(row.pk, connection)] for row in rows]  # fmt: skip
    with connection.cursor() as cursor:
        if len(params) == 1:
            cursor.execute(sql, params[0])
        else:
            cursor.executemany(sql, params)


def placeholders(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))
