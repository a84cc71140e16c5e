"""Rules shared by every managed list of records (master data and the like).

A ``Resource`` describes one table: its key (for permissions and audit), its labels, its
create and read schemas, which fields are unique together, which text fields `q` searches,
and which fields reference other tables. The service functions below hold the rules —
references must exist and be enabled, uniqueness is checked with a field-level message,
referenced records are not deleted, every write is audited — and take the session
explicitly; they flush, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, Table, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from shared import audit, fieldcrypt
from shared.clock import utcnow
from shared.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from shared.i18n import Text
from shared.paging import Page, PageParams
from shared.pii import MASKS
from shared.records import RecordColumns, table_of
from shared.scope import covers, restriction
from shared.search import contains


@dataclass(frozen=True)
class Reference:
    """`field` holds the id of a `target` record; answers carry `<name>_name`."""

    field: str
    target: type[RecordColumns]
    label: Text

    @property
    def name_field(self) -> str:
        return self.field.removesuffix("_id") + "_name"


@dataclass(frozen=True)
class Resource:
    key: str
    label: Text
    table: type[RecordColumns]
    create_schema: type[BaseModel]
    read_schema: type[BaseModel]
    audit_table: Table
    search: Sequence[str] = ("name",)
    unique: Sequence[Sequence[str]] = (("name",),)
    references: Sequence[Reference] = ()
    field_labels: dict[str, Text] = field(default_factory=dict)
    # The field holding the record's department, when a role's data scope applies to it.
    scope_field: str | None = None
    # Personal fields masked for viewers without pii:read: field -> "phone" | "id_card".
    pii: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> Any:
        return getattr(self.table, name)

    def label_of(self, name: str) -> str | Text:
        return self.field_labels.get(name, name)


@dataclass(frozen=True)
class Viewer:
    """Who is looking: which departments' records they may see, and whether unmasked."""

    departments: frozenset[int] | None = None
    reveal_pii: bool = True


EVERYTHING = Viewer()


def _in_scope(resource: Resource, viewer: Viewer, record: SQLModel) -> bool:
    return resource.scope_field is None or covers(viewer.departments, getattr(record, resource.scope_field))


def _exact(session: AsyncSession, resource: Resource, text: str) -> list[Any]:
    """Encrypted fields match only a full number, through their blind index, for every viewer
    (the answer is masked all the same): a clerk finds a patient by ID card without pii:read,
    and no part of a number ever matches."""
    indexed = fieldcrypt.indexed_columns(table_of(resource.table))
    if not indexed:
        return []
    ring = fieldcrypt.keyring_of(session)
    columns = table_of(resource.table).c
    found = [(columns[f"{name}_index"], ring.lookup(kind, text)) for name, kind in indexed]
    return [column.in_(indexes) for column, indexes in found if indexes]


def _row_dict(record: SQLModel) -> dict[str, Any]:
    return {column.name: getattr(record, column.name) for column in table_of(type(record)).columns}


async def _reference_names(
    session: AsyncSession, resource: Resource, rows: Sequence[dict[str, Any]]
) -> dict[str, dict[int, str]]:
    names: dict[str, dict[int, str]] = {}
    for ref in resource.references:
        ids = {r[ref.field] for r in rows} - {None}
        if not ids:
            names[ref.field] = {}
            continue
        target_id, target_name = col(ref.target.id), table_of(ref.target).c.name
        found = await session.execute(select(target_id, target_name).where(target_id.in_(ids)))
        names[ref.field] = dict(found.all())
    return names


async def _present(
    session: AsyncSession, resource: Resource, rows: Sequence[dict[str, Any]], viewer: Viewer
) -> list[dict[str, Any]]:
    """A record's answer as the read schema's fields: reference names added, personal fields masked
    for a viewer without pii:read. Plain dicts: the route's response model validates them once."""
    names = await _reference_names(session, resource, rows)
    for data in rows:
        for ref in resource.references:
            ref_id = data.get(ref.field)
            data[ref.name_field] = None if ref_id is None else names[ref.field].get(ref_id)
        if not viewer.reveal_pii:
            for name, kind in resource.pii.items():
                data[name] = MASKS[kind](data.get(name))
    return list(rows)


async def _present_one(session: AsyncSession, resource: Resource, record: SQLModel, viewer: Viewer) -> BaseModel:
    return resource.read_schema.model_validate((await _present(session, resource, [_row_dict(record)], viewer))[0])


def sort_columns(resource: Resource) -> dict[str, Any]:
    """What `?sort=` may name: the fields a record answers with that are its own columns."""
    columns = table_of(resource.table).c
    return {name: columns[name] for name in resource.read_schema.model_fields if name in columns}


# The statements of a list with no condition and its own order, built once per table: building a
# statement costs more than running it on a table of master data (bench/list_read.py).
_PLAIN_LISTS: dict[Table, tuple[Select[Any], Select[Any]]] = {}


def _plain_list(table: Table) -> tuple[Select[Any], Select[Any]]:
    statements = _PLAIN_LISTS.get(table)
    if statements is None:
        query = select(*table.c)
        statements = (
            select(func.count()).select_from(table),
            query.order_by(table.c.id.asc()).offset(bindparam("offset")).limit(bindparam("size")),
        )
        _PLAIN_LISTS[table] = statements
    return statements


async def list_records(
    session: AsyncSession,
    resource: Resource,
    params: PageParams,
    filters: dict[str, Any] | None = None,
    viewer: Viewer = EVERYTHING,
) -> Page[Any]:
    # Core columns and rows, not the ORM: a list only reads, and the ORM's statement compilation
    # and an instance per row cost more than the answer itself (bench/list_read.py).
    table = table_of(resource.table)
    columns = table.c
    conditions = []
    if resource.scope_field is not None and viewer.departments is not None:
        conditions.append(restriction(columns[resource.scope_field], viewer.departments))
    conditions += [columns[name] == value for name, value in (filters or {}).items() if value is not None]
    if params.q:
        # Searching a masked number would tell its hidden digits: only those who may see it search it.
        searched = [f for f in resource.search if viewer.reveal_pii or f not in resource.pii]
        matched = contains(params.q, *(columns[f] for f in searched))
        conditions.append(or_(matched, *_exact(session, resource, params.q)))
    if conditions or params.order:
        query = select(*columns).where(*conditions)
        count = select(func.count()).select_from(query.subquery())
        page = query.order_by(*params.order, columns.id.asc()).offset(bindparam("offset")).limit(bindparam("size"))
    else:
        count, page = _plain_list(table)
    conn = await session.connection()
    total = (await conn.execute(count)).scalar_one()
    rows = await conn.execute(page, {"offset": params.offset, "size": params.size})
    keys = list(rows.keys())
    items = await _present(session, resource, [dict(zip(keys, row, strict=True)) for row in rows], viewer)
    return Page(items=items, total=total, page=params.page, size=params.size)


async def _get(session: AsyncSession, resource: Resource, record_id: int, viewer: Viewer) -> RecordColumns:
    record = await session.get(resource.table, record_id)
    # Outside the viewer's departments a record is as good as absent: its existence is not told.
    if record is None or not _in_scope(resource, viewer, record):
        raise NotFound(
            Text(f"{resource.label.zh}（编号 {record_id}）不存在", f"{resource.label.en} {record_id} not found")
        )
    return record


async def get_record(
    session: AsyncSession, resource: Resource, record_id: int, viewer: Viewer = EVERYTHING
) -> BaseModel:
    return await _present_one(session, resource, await _get(session, resource, record_id, viewer), viewer)


def _unmask(resource: Resource, values: dict[str, Any], stored: dict[str, Any] | None) -> None:
    """A masked number sent back unchanged keeps the stored one; any other masked value is refused."""
    errors = []
    for name, kind in resource.pii.items():
        value = values.get(name)
        if not isinstance(value, str) or "*" not in value:
            continue
        if stored is not None and value == MASKS[kind](stored.get(name)):
            values[name] = stored.get(name)
        else:
            errors.append(field_error(name, Text("请输入完整号码", "enter the full number"), "masked_value"))
    if errors:
        raise Invalid(Text("号码不完整", "A number is incomplete"), code="masked_value", errors=errors)


def _check_scope_of_values(resource: Resource, values: dict[str, Any], viewer: Viewer) -> None:
    if resource.scope_field is not None and not covers(viewer.departments, values.get(resource.scope_field)):
        raise Forbidden(
            Text("所选科室不在您的数据权限范围内", "That department is outside your data scope"),
            code="outside_data_scope",
            errors=[field_error(resource.scope_field, Text("超出数据权限范围", "outside your data scope"))],
        )


async def _check_references(
    session: AsyncSession, resource: Resource, values: dict[str, Any], previous: dict[str, Any] | None
) -> None:
    errors = []
    for ref in resource.references:
        ref_id = values.get(ref.field)
        if ref_id is None:
            continue
        target = await session.get(ref.target, ref_id)
        if target is None:
            errors.append(
                field_error(
                    ref.field,
                    Text(f"所选{ref.label.zh}不存在", f"{ref.label.en} does not exist"),
                    "reference_missing",
                )
            )
        elif not target.enabled and (previous is None or previous.get(ref.field) != ref_id):
            # Keeping an already-linked disabled record is fine; choosing one anew is not.
            errors.append(
                field_error(
                    ref.field,
                    Text(f"所选{ref.label.zh}已停用", f"{ref.label.en} is disabled"),
                    "reference_disabled",
                )
            )
    if errors:
        raise Invalid(Text("引用的数据不可用", "Referenced data is not usable"), code="bad_reference", errors=errors)


async def _check_unique(
    session: AsyncSession, resource: Resource, values: dict[str, Any], exclude_id: int | None
) -> None:
    for fields in resource.unique:
        conditions = []
        for name in fields:
            value = values.get(name)
            column = resource.column(name)
            if value is None:
                conditions.append(column.is_(None))
            elif isinstance(value, str):
                # MySQL compares case-insensitively; do the same on SQLite so both agree.
                conditions.append(func.lower(column) == value.lower())
            else:
                conditions.append(column == value)
        query = select(col(resource.table.id)).where(*conditions)
        if exclude_id is not None:
            query = query.where(col(resource.table.id) != exclude_id)
        if (await session.execute(query.limit(1))).first() is not None:
            labels = "+".join(Text.render_any(resource.label_of(n), "zh") for n in fields)
            labels_en = "+".join(Text.render_any(resource.label_of(n), "en") for n in fields)
            raise Conflict(
                Text(
                    f"{resource.label.zh}的{labels}已存在",
                    f"A {resource.label.en} with this {labels_en} exists",
                ),
                code="duplicate",
                errors=[field_error(n, Text("已存在", "already exists"), "duplicate") for n in fields],
            )


async def create_record(
    session: AsyncSession, resource: Resource, data: BaseModel, viewer: Viewer = EVERYTHING
) -> BaseModel:
    values = data.model_dump()
    _unmask(resource, values, None)
    _check_scope_of_values(resource, values, viewer)
    await _check_references(session, resource, values, None)
    await _check_unique(session, resource, values, None)
    now = utcnow()
    record = resource.table(**values, enabled=True, created_at=now, updated_at=now)
    session.add(record)
    await session.flush()
    await audit.record(
        session,
        resource.audit_table,
        action="create",
        entity=resource.key,
        entity_id=record.id,
        after=_row_dict(record),
    )
    return await _present_one(session, resource, record, viewer)


async def update_record(
    session: AsyncSession, resource: Resource, record_id: int, data: BaseModel, viewer: Viewer = EVERYTHING
) -> BaseModel:
    record = await _get(session, resource, record_id, viewer)
    before = _row_dict(record)
    values = data.model_dump()
    _unmask(resource, values, before)
    _check_scope_of_values(resource, values, viewer)
    await _check_references(session, resource, values, before)
    await _check_unique(session, resource, values, record_id)
    for name, value in values.items():
        setattr(record, name, value)
    record.updated_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        resource.audit_table,
        action="update",
        entity=resource.key,
        entity_id=record_id,
        before=before,
        after=_row_dict(record),
    )
    return await _present_one(session, resource, record, viewer)


async def set_enabled(
    session: AsyncSession, resource: Resource, record_id: int, enabled: bool, viewer: Viewer = EVERYTHING
) -> BaseModel:
    record = await _get(session, resource, record_id, viewer)
    before = _row_dict(record)
    if record.enabled != enabled:
        record.enabled = enabled
        record.updated_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            resource.audit_table,
            action="enable" if enabled else "disable",
            entity=resource.key,
            entity_id=record_id,
            before=before,
            after=_row_dict(record),
        )
    return await _present_one(session, resource, record, viewer)


def _referencing_columns(resource: Resource) -> list[Any]:
    """Columns anywhere in the service's metadata holding a foreign key to this table."""
    target = table_of(resource.table)
    found = []
    for table in target.metadata.tables.values():
        for fk in table.foreign_keys:
            if fk.column.table is target:
                found.append(fk.parent)
    return found


async def delete_record(session: AsyncSession, resource: Resource, record_id: int, viewer: Viewer = EVERYTHING) -> None:
    record = await _get(session, resource, record_id, viewer)
    for column in _referencing_columns(resource):
        query = select(func.count()).select_from(column.table).where(column == record_id)
        if (await session.execute(query)).scalar_one():
            raise Conflict(
                Text(
                    f"该{resource.label.zh}仍被使用，不能删除，请改为停用",
                    f"This {resource.label.en} is still in use; disable it instead",
                ),
                code="referenced",
            )
    before = _row_dict(record)
    await session.delete(record)
    await session.flush()
    await audit.record(
        session,
        resource.audit_table,
        action="delete",
        entity=resource.key,
        entity_id=record_id,
        before=before,
    )
