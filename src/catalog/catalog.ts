import type { DuckDBConnection } from '@duckdb/node-api';
import { SqlError, SqlState, notSupported } from '../errors.js';
import { expressionSpan, names } from '../sql/ast.js';
import { tokensOf, type AstNode, type ParsedStatement } from '../sql/parse.js';
import { quoteLiteral } from '../sql/rewrite.js';
import { columnType, type ColumnType } from './column-types.js';

/** How a table's rows behave: see ARCHITECTURE.md, "store". */
export type TableKind = 'append_only' | 'primary_key';

export type TableInfo = {
  schema: string;
  name: string;
  kind: TableKind;
  primaryKey: string[];
};

/** Arka's own catalog, kept in the DuckDB file next to the tables it describes. */
export const CATALOG_SETUP = [
  `CREATE TABLE IF NOT EXISTS arka_meta.tables (
     schema_name VARCHAR NOT NULL, table_name VARCHAR NOT NULL, kind VARCHAR NOT NULL,
     primary_key VARCHAR[] NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     PRIMARY KEY (schema_name, table_name))`,
  `CREATE TABLE IF NOT EXISTS arka_meta.columns (
     schema_name VARCHAR NOT NULL, table_name VARCHAR NOT NULL, column_name VARCHAR NOT NULL,
     ordinal INTEGER NOT NULL, pg_type VARCHAR NOT NULL, pg_typmod INTEGER NOT NULL, is_array BOOLEAN NOT NULL,
     PRIMARY KEY (schema_name, table_name, column_name))`,
  // The apply records how far it got in the same transaction as the data (invariant 3).
  `CREATE TABLE IF NOT EXISTS arka_meta.state (id INTEGER PRIMARY KEY, applied_lsn UBIGINT NOT NULL, wal_bytes UBIGINT NOT NULL,
     wal_segments INTEGER NOT NULL, applied_at TIMESTAMPTZ)`,
  'INSERT INTO arka_meta.state SELECT 1, 0, 0, 0, NULL WHERE NOT EXISTS (SELECT 1 FROM arka_meta.state)',
  // The watermarks, live from the writer (arka_watermark); applied_at is when DuckDB last committed an apply.
  `CREATE OR REPLACE MACRO main.arka_status() AS TABLE
     SELECT arka_watermark('wal_lsn') AS wal_lsn, arka_watermark('duckdb_lsn') AS duckdb_lsn,
            arka_watermark('iceberg_lsn') AS iceberg_lsn, arka_watermark('wal_bytes') AS wal_bytes,
            CAST(arka_watermark('wal_segments') AS INTEGER) AS wal_segments, arka_watermark('apply_lag') AS apply_lag,
            arka_watermark('apply_queued_rows') AS apply_queued_rows, applied_at
     FROM arka_meta.state`,
  // The CDC log of a table: its change records still held (see changesTable).
  `CREATE OR REPLACE MACRO main.arka_changes(name) AS TABLE
     SELECT * EXCLUDE (__lsn, __change_type, __timestamp), __lsn, __change_type, __timestamp
     FROM query_table('arka_meta.changes_' || name)`,
];

/** Where a table's change records are kept, queried through arka_changes('<table>'). */
export function changesTable(name: string): string {
  return `arka_meta.${quoteIdent(`changes_${name}`)}`;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The result of a DDL statement: its command tag and notices to send first. */
export type DdlResult = { tag: string; notices: string[] };

function schemaOf(relation: AstNode): string {
  const schema = (relation.schemaname as string | undefined) ?? 'public';
  if (schema !== 'public') throw new SqlError(SqlState.InvalidSchemaName, `schema "${schema}" does not exist`);
  return schema;
}

export async function lookupTable(conn: DuckDBConnection, schema: string, name: string): Promise<TableInfo | undefined> {
  const reader = await conn.runAndReadAll(
    'SELECT kind, primary_key FROM arka_meta.tables WHERE schema_name = $1 AND table_name = $2',
    [schema, name],
  );
  const row = reader.getRowsJS()[0];
  if (!row) return undefined;
  return { schema, name, kind: row[0] as TableKind, primaryKey: row[1] as string[] };
}

async function relationExists(conn: DuckDBConnection, schema: string, name: string): Promise<boolean> {
  const reader = await conn.runAndReadAll(
    `SELECT 1 FROM duckdb_tables() WHERE schema_name = $1 AND table_name = $2
     UNION ALL SELECT 1 FROM duckdb_views() WHERE schema_name = $1 AND view_name = $2`,
    [schema, name],
  );
  return reader.currentRowCount > 0;
}

/** CREATE TABLE: translate PostgreSQL's definition to DuckDB and record the table's kind. */
export async function createTable(conn: DuckDBConnection, statement: ParsedStatement): Promise<DdlResult> {
  const create = statement.ast;
  const relation = create.relation as AstNode;
  const schema = schemaOf(relation);
  const name = relation.relname as string;
  for (const unsupported of ['inhRelations', 'partspec', 'ofTypename', 'partbound']) {
    if (create[unsupported]) throw notSupported(`CREATE TABLE with ${unsupported.replace('Relations', 'its')} is not supported`);
  }
  if (relation.relpersistence === 't') throw notSupported('temporary tables are not supported');
  if (await relationExists(conn, schema, name)) {
    if (create.if_not_exists) return { tag: 'CREATE TABLE', notices: [`relation "${name}" already exists, skipping`] };
    throw new SqlError(SqlState.DuplicateTable, `relation "${name}" already exists`);
  }

  const tokens = tokensOf(statement.source, statement.start, statement.end);
  const sourceOf = (node: AstNode): string => {
    const span = expressionSpan(node, tokens);
    if (!span) throw new SqlError(SqlState.SyntaxError, 'could not read expression');
    return statement.source.toString('utf8', span[0], span[1]);
  };

  const columns: { name: string; type: ColumnType; definition: string }[] = [];
  const primaryKey: string[] = [];
  const tableConstraints: string[] = [];
  const sequences: string[] = [];
  const notices: string[] = [];

  for (const element of create.tableElts as AstNode[]) {
    if (element.ColumnDef) {
      const def = element.ColumnDef;
      const column = def.colname as string;
      if (columns.some((c) => c.name === column)) {
        throw new SqlError(SqlState.DuplicateColumn, `column "${column}" specified more than once`);
      }
      const type = columnType(def.typeName);
      const parts = [quoteIdent(column), type.duckdb];
      let notNull = def.is_not_null === true;
      if (type.serial) {
        const sequence = `${name}_${column}_seq`;
        sequences.push(`CREATE SEQUENCE ${quoteIdent(schema)}.${quoteIdent(sequence)}`);
        parts.push(`DEFAULT nextval(${quoteLiteral(`${schema}.${sequence}`)})`);
        notNull = true;
      }
      for (const constraintNode of (def.constraints as AstNode[] | undefined) ?? []) {
        const constraint = constraintNode.Constraint;
        switch (constraint.contype) {
          case 'CONSTR_NOTNULL':
            notNull = true;
            break;
          case 'CONSTR_NULL':
            break;
          case 'CONSTR_DEFAULT':
            parts.push(`DEFAULT ${sourceOf(constraint.raw_expr)}`);
            break;
          case 'CONSTR_PRIMARY':
            if (primaryKey.length > 0) throw multiplePrimaryKeys(name);
            primaryKey.push(column);
            notNull = true;
            break;
          case 'CONSTR_UNIQUE':
            parts.push('UNIQUE');
            break;
          case 'CONSTR_CHECK':
            parts.push(`CHECK (${sourceOf(constraint.raw_expr)})`);
            break;
          case 'CONSTR_FOREIGN':
            notices.push(`foreign key on column "${column}" is recorded but not enforced`);
            break;
          default:
            throw notSupported(`column constraint ${String(constraint.contype).replace('CONSTR_', '')} is not supported`);
        }
      }
      if (notNull) parts.push('NOT NULL');
      columns.push({ name: column, type, definition: parts.join(' ') });
    } else if (element.Constraint) {
      const constraint = element.Constraint;
      const keys = names(constraint.keys);
      switch (constraint.contype) {
        case 'CONSTR_PRIMARY':
          if (primaryKey.length > 0) throw multiplePrimaryKeys(name);
          primaryKey.push(...keys);
          break;
        case 'CONSTR_UNIQUE':
          tableConstraints.push(`UNIQUE (${keys.map(quoteIdent).join(', ')})`);
          break;
        case 'CONSTR_CHECK':
          tableConstraints.push(`CHECK (${sourceOf(constraint.raw_expr)})`);
          break;
        case 'CONSTR_FOREIGN':
          notices.push(`foreign key on table "${name}" is recorded but not enforced`);
          break;
        default:
          throw notSupported(`table constraint ${String(constraint.contype).replace('CONSTR_', '')} is not supported`);
      }
    } else {
      throw notSupported('CREATE TABLE … LIKE is not supported');
    }
  }
  for (const key of primaryKey) {
    if (!columns.some((c) => c.name === key)) {
      throw new SqlError(SqlState.UndefinedColumn, `column "${key}" named in key does not exist`);
    }
  }
  if (primaryKey.length > 0) tableConstraints.unshift(`PRIMARY KEY (${primaryKey.map(quoteIdent).join(', ')})`);

  const kind: TableKind = primaryKey.length > 0 ? 'primary_key' : 'append_only';
  for (const sql of sequences) await conn.run(sql);
  const definitions = [...columns.map((c) => c.definition), ...tableConstraints].join(', ');
  await conn.run(`CREATE TABLE ${quoteIdent(schema)}.${quoteIdent(name)} (${definitions})`);
  const changeColumns = columns.map((c) => `${quoteIdent(c.name)} ${c.type.duckdb}`);
  await conn.run(
    `CREATE TABLE ${changesTable(name)} (${[...changeColumns, '__lsn UBIGINT NOT NULL', '__change_type VARCHAR NOT NULL', '__timestamp TIMESTAMPTZ NOT NULL'].join(', ')})`,
  );
  await conn.run('INSERT INTO arka_meta.tables (schema_name, table_name, kind, primary_key) VALUES ($1, $2, $3, $4::VARCHAR[])', [
    schema,
    name,
    kind,
    `[${primaryKey.map((k) => quoteLiteral(k)).join(', ')}]`,
  ]);
  let ordinal = 0;
  for (const column of columns) await recordColumn(conn, schema, name, column.name, ++ordinal, column.type);
  return { tag: 'CREATE TABLE', notices };
}

function multiplePrimaryKeys(table: string): SqlError {
  return new SqlError(SqlState.InvalidTableDefinition, `multiple primary keys for table "${table}" are not allowed`);
}

async function recordColumn(conn: DuckDBConnection, schema: string, table: string, column: string, ordinal: number, type: ColumnType) {
  await conn.run(
    `INSERT INTO arka_meta.columns (schema_name, table_name, column_name, ordinal, pg_type, pg_typmod, is_array)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [schema, table, column, ordinal, type.pgName, type.typmod, type.isArray],
  );
}

/** DROP TABLE [IF EXISTS] a, b. */
export async function dropTables(conn: DuckDBConnection, statement: ParsedStatement): Promise<DdlResult> {
  const drop = statement.ast;
  const notices: string[] = [];
  const targets: { schema: string; name: string }[] = [];
  for (const object of drop.objects as AstNode[]) {
    const qualified = names(object.List.items);
    const name = qualified[qualified.length - 1]!;
    const schema = qualified.length > 1 ? qualified[qualified.length - 2]! : 'public';
    if (schema !== 'public' || !(await lookupTable(conn, schema, name))) {
      if (drop.missing_ok) {
        notices.push(`table "${name}" does not exist, skipping`);
        continue;
      }
      throw new SqlError(SqlState.UndefinedTable, `table "${name}" does not exist`);
    }
    targets.push({ schema, name });
  }
  for (const { schema, name } of targets) {
    await conn.run(`DROP TABLE ${quoteIdent(schema)}.${quoteIdent(name)}`);
    await conn.run(`DROP TABLE IF EXISTS ${changesTable(name)}`);
    await conn.run('DELETE FROM arka_meta.tables WHERE schema_name = $1 AND table_name = $2', [schema, name]);
    await conn.run('DELETE FROM arka_meta.columns WHERE schema_name = $1 AND table_name = $2', [schema, name]);
    const sequences = await conn.runAndReadAll(
      `SELECT sequence_name FROM duckdb_sequences() WHERE schema_name = $1 AND starts_with(sequence_name, $2)`,
      [schema, `${name}_`],
    );
    for (const [sequence] of sequences.getRowsJS()) {
      if (String(sequence).endsWith('_seq')) await conn.run(`DROP SEQUENCE IF EXISTS ${quoteIdent(schema)}.${quoteIdent(String(sequence))}`);
    }
  }
  return { tag: 'DROP TABLE', notices };
}

/** ALTER TABLE … ADD COLUMN; other forms are not supported yet. */
export async function alterTable(conn: DuckDBConnection, statement: ParsedStatement): Promise<DdlResult> {
  const alter = statement.ast;
  if (alter.objtype !== 'OBJECT_TABLE') throw notSupported('only ALTER TABLE is supported');
  const relation = alter.relation as AstNode;
  const schema = schemaOf(relation);
  const name = relation.relname as string;
  if (!(await lookupTable(conn, schema, name))) {
    if (alter.missing_ok) return { tag: 'ALTER TABLE', notices: [`relation "${name}" does not exist, skipping`] };
    throw new SqlError(SqlState.UndefinedTable, `relation "${name}" does not exist`);
  }
  const tokens = tokensOf(statement.source, statement.start, statement.end);
  const notices: string[] = [];
  for (const commandNode of alter.cmds as AstNode[]) {
    const command = commandNode.AlterTableCmd;
    if (command.subtype !== 'AT_AddColumn') {
      throw notSupported(`ALTER TABLE ${String(command.subtype).replace('AT_', '')} is not supported`, 'Arka supports ALTER TABLE … ADD COLUMN.');
    }
    const def = command.def.ColumnDef as AstNode;
    const column = def.colname as string;
    const existing = await conn.runAndReadAll(
      'SELECT max(ordinal), count(*) FILTER (WHERE column_name = $3) FROM arka_meta.columns WHERE schema_name = $1 AND table_name = $2',
      [schema, name, column],
    );
    const [maxOrdinal, sameName] = existing.getRowsJS()[0]! as [number | null, bigint];
    if (Number(sameName) > 0) {
      if (command.missing_ok) {
        notices.push(`column "${column}" of relation "${name}" already exists, skipping`);
        continue;
      }
      throw new SqlError(SqlState.DuplicateColumn, `column "${column}" of relation "${name}" already exists`);
    }
    const type = columnType(def.typeName);
    if (type.serial) throw notSupported('ADD COLUMN of a serial type is not supported');
    const parts = [quoteIdent(column), type.duckdb];
    for (const constraintNode of (def.constraints as AstNode[] | undefined) ?? []) {
      const constraint = constraintNode.Constraint;
      if (constraint.contype === 'CONSTR_DEFAULT') {
        const span = expressionSpan(constraint.raw_expr, tokens);
        if (!span) throw new SqlError(SqlState.SyntaxError, 'could not read DEFAULT expression');
        parts.push(`DEFAULT ${statement.source.toString('utf8', span[0], span[1])}`);
      } else if (constraint.contype !== 'CONSTR_NULL') {
        throw notSupported(`ADD COLUMN with ${String(constraint.contype).replace('CONSTR_', '')} is not supported`);
      }
    }
    await conn.run(`ALTER TABLE ${quoteIdent(schema)}.${quoteIdent(name)} ADD COLUMN ${parts.join(' ')}`);
    await conn.run(`ALTER TABLE ${changesTable(name)} ADD COLUMN ${quoteIdent(column)} ${type.duckdb}`);
    await recordColumn(conn, schema, name, column, (maxOrdinal ?? 0) + 1, type);
  }
  return { tag: 'ALTER TABLE', notices };
}
