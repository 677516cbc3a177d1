// The one mapping between DuckDB's types and the PostgreSQL types Arka
// reports: RowDescription uses pgTypeOf, declared parameter types use
// duckTypeOfOid. The codecs in this directory follow the same choices.

import {
  BIGINT, BIT, BLOB, BOOLEAN, DATE, DECIMAL, DOUBLE, DuckDBTypeId, DuckDBVarCharType, FLOAT, INTEGER, INTERVAL, LIST,
  SMALLINT, TIME, TIMESTAMP, TIMESTAMPTZ, TIMETZ, UINTEGER, UUID, VARCHAR,
} from '@duckdb/node-api';
import type { DuckDBType } from '@duckdb/node-api';
import { PgOid, pgTypeByOid } from './pg-types.js';

export type PgTypeRef = { oid: number; typlen: number; typmod: number };

/** DuckDB spells JSON as VARCHAR with the alias 'JSON'. */
export const JSON_TYPE = DuckDBVarCharType.create('JSON');

/**
 * DuckDB's numeric(p,s) typmod, as PostgreSQL encodes it: ((p << 16) | s) + VARHDRSZ.
 */
export function numericTypmod(width: number, scale: number): number {
  return ((width << 16) | scale) + 4;
}

/** The PostgreSQL type OID a DuckDB type is reported as (typmod aside). */
export function pgOidOf(type: DuckDBType): number {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return PgOid.bool;
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.UTINYINT:
      return PgOid.int2;
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.USMALLINT:
      return PgOid.int4;
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UINTEGER:
      return PgOid.int8;
    // Wider than int8: numeric is the only PostgreSQL type that holds them exactly.
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
    case DuckDBTypeId.DECIMAL:
      return PgOid.numeric;
    case DuckDBTypeId.FLOAT:
      return PgOid.float4;
    case DuckDBTypeId.DOUBLE:
      return PgOid.float8;
    case DuckDBTypeId.VARCHAR:
      return type.alias === 'JSON' ? PgOid.json : PgOid.text;
    case DuckDBTypeId.BLOB:
      return PgOid.bytea;
    case DuckDBTypeId.DATE:
      return PgOid.date;
    case DuckDBTypeId.TIME:
    case DuckDBTypeId.TIME_NS:
      return PgOid.time;
    case DuckDBTypeId.TIME_TZ:
      return PgOid.timetz;
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return PgOid.timestamp;
    case DuckDBTypeId.TIMESTAMP_TZ:
      return PgOid.timestamptz;
    case DuckDBTypeId.INTERVAL:
      return PgOid.interval;
    case DuckDBTypeId.UUID:
      return PgOid.uuid;
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      // A list of lists is a multidimensional array of the innermost type, as in PostgreSQL.
      const element = pgTypeByOid(pgOidOf(type.valueType))!;
      return element.category === 'A' ? element.oid : element.arrayOid;
    }
    // ENUM, STRUCT, MAP, UNION, BIT, SQLNULL, VARIANT, GEOMETRY, …: sent as their text.
    default:
      return PgOid.text;
  }
}

/** The RowDescription triple for a DuckDB column type. */
export function pgTypeOf(type: DuckDBType): PgTypeRef {
  const oid = pgOidOf(type);
  return { oid, typlen: pgTypeByOid(oid)!.typlen, typmod: typmodOf(type) };
}

function typmodOf(type: DuckDBType): number {
  switch (type.typeId) {
    case DuckDBTypeId.DECIMAL:
      return numericTypmod(type.width, type.scale);
    // PostgreSQL reports an array column with its element's typmod.
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return typmodOf(type.valueType);
    default:
      return -1;
  }
}

/**
 * The DuckDB type of a parameter whose PostgreSQL type the client declared,
 * or undefined for 0 (unspecified) and types Arka has no counterpart for.
 *
 * numeric becomes DECIMAL(38,10): decimal, so 0.1 stays 0.1 (DOUBLE would
 * not), with DuckDB's widest precision split between 28 integer and 10
 * fractional digits. A value's exact DECIMAL(p,s) comes from decodeParameter,
 * which is what should be bound.
 */
export function duckTypeOfOid(oid: number): DuckDBType | undefined {
  switch (oid) {
    case PgOid.bool:
      return BOOLEAN;
    case PgOid.int2:
      return SMALLINT;
    case PgOid.int4:
      return INTEGER;
    case PgOid.int8:
      return BIGINT;
    case PgOid.float4:
      return FLOAT;
    case PgOid.float8:
      return DOUBLE;
    case PgOid.numeric:
      return DECIMAL(38, 10);
    case PgOid.text:
    case PgOid.varchar:
    case PgOid.bpchar:
    case PgOid.name:
    case PgOid.char:
    case PgOid.xml:
    case PgOid.unknown:
      return VARCHAR;
    case PgOid.json:
    case PgOid.jsonb:
      return JSON_TYPE;
    case PgOid.bytea:
      return BLOB;
    case PgOid.date:
      return DATE;
    case PgOid.time:
      return TIME;
    case PgOid.timetz:
      return TIMETZ;
    case PgOid.timestamp:
      return TIMESTAMP;
    case PgOid.timestamptz:
      return TIMESTAMPTZ;
    case PgOid.interval:
      return INTERVAL;
    case PgOid.uuid:
      return UUID;
    // Unsigned 32-bit, like PostgreSQL's oid.
    case PgOid.oid:
    case PgOid.regproc:
    case PgOid.regclass:
    case PgOid.regtype:
      return UINTEGER;
    case PgOid.bit:
    case PgOid.varbit:
      return BIT;
  }
  const type = pgTypeByOid(oid);
  if (type?.category !== 'A') return undefined;
  const element = duckTypeOfOid(type.elemOid);
  return element && LIST(element);
}
