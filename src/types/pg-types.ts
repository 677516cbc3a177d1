// The PostgreSQL built-in types Arka speaks, as pg_type describes them in
// PostgreSQL 15 (oid, typname, typlen, typarray, typelem, typcategory). Clients
// look these OIDs up in their own tables, so they must be the real ones.

export type PgType = {
  readonly oid: number;
  /** typname, e.g. 'int4', '_int4'. */
  readonly name: string;
  /** typlen: bytes of the fixed-size form, -1 for varlena, -2 for C strings. */
  readonly typlen: number;
  /** typarray: the OID of the array type whose elements are this type, 0 if none. */
  readonly arrayOid: number;
  /** typelem: for an array type, the OID of its element type; else 0 (name's is char, as in pg_type). */
  readonly elemOid: number;
  /** typcategory: 'A' array, 'B' boolean, 'D' date/time, 'N' numeric, 'S' string, 'T' timespan, 'U' user, 'V' bit string, 'X' unknown, 'Z' internal. */
  readonly category: string;
};

/** OIDs by typname, for code that needs a particular type. */
export const PgOid = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  regproc: 24,
  text: 25,
  oid: 26,
  json: 114,
  xml: 142,
  float4: 700,
  float8: 701,
  unknown: 705,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  bit: 1560,
  varbit: 1562,
  numeric: 1700,
  regclass: 2205,
  regtype: 2206,
  uuid: 2950,
  jsonb: 3802,
} as const;

// [typname, oid, typlen, typarray, category] of the element types; each array
// type is derived from its row: name '_' + typname, typlen -1, category 'A'.
const BASE_TYPES: readonly (readonly [string, number, number, number, string])[] = [
  ['bool', 16, 1, 1000, 'B'],
  ['bytea', 17, -1, 1001, 'U'],
  ['char', 18, 1, 1002, 'Z'],
  ['name', 19, 64, 1003, 'S'],
  ['int8', 20, 8, 1016, 'N'],
  ['int2', 21, 2, 1005, 'N'],
  ['int4', 23, 4, 1007, 'N'],
  ['regproc', 24, 4, 1008, 'N'],
  ['text', 25, -1, 1009, 'S'],
  ['oid', 26, 4, 1028, 'N'],
  ['json', 114, -1, 199, 'U'],
  ['xml', 142, -1, 143, 'U'],
  ['float4', 700, 4, 1021, 'N'],
  ['float8', 701, 8, 1022, 'N'],
  ['unknown', 705, -2, 0, 'X'],
  ['bpchar', 1042, -1, 1014, 'S'],
  ['varchar', 1043, -1, 1015, 'S'],
  ['date', 1082, 4, 1182, 'D'],
  ['time', 1083, 8, 1183, 'D'],
  ['timestamp', 1114, 8, 1115, 'D'],
  ['timestamptz', 1184, 8, 1185, 'D'],
  ['interval', 1186, 16, 1187, 'T'],
  ['timetz', 1266, 12, 1270, 'D'],
  ['bit', 1560, -1, 1561, 'V'],
  ['varbit', 1562, -1, 1563, 'V'],
  ['numeric', 1700, -1, 1231, 'N'],
  ['regclass', 2205, 4, 2210, 'N'],
  ['regtype', 2206, 4, 2211, 'N'],
  ['uuid', 2950, 16, 2951, 'U'],
  ['jsonb', 3802, -1, 3807, 'U'],
];

const byOid = new Map<number, PgType>();
const byName = new Map<string, PgType>();

for (const [name, oid, typlen, arrayOid, category] of BASE_TYPES) {
  const elemOid = name === 'name' ? PgOid.char : 0;
  const base: PgType = { oid, name, typlen, arrayOid, elemOid, category };
  byOid.set(oid, base);
  byName.set(name, base);
  if (arrayOid !== 0) {
    const array: PgType = { oid: arrayOid, name: `_${name}`, typlen: -1, arrayOid: 0, elemOid: oid, category: 'A' };
    byOid.set(arrayOid, array);
    byName.set(array.name, array);
  }
}

/** The SQL spellings PostgreSQL's grammar turns into these typnames. */
const ALIASES: Readonly<Record<string, string>> = {
  boolean: 'bool',
  smallint: 'int2',
  int: 'int4',
  integer: 'int4',
  bigint: 'int8',
  real: 'float4',
  float: 'float8',
  'double precision': 'float8',
  decimal: 'numeric',
  dec: 'numeric',
  // Unquoted char is SQL's character(n), i.e. bpchar; the one-byte type is spelled "char".
  char: 'bpchar',
  character: 'bpchar',
  '"char"': 'char',
  'char varying': 'varchar',
  'character varying': 'varchar',
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz',
  'time without time zone': 'time',
  'time with time zone': 'timetz',
  'bit varying': 'varbit',
};

export function pgTypeByOid(oid: number): PgType | undefined {
  return byOid.get(oid);
}

/** Every type in the table, element types and their array types, in OID order. */
export function allPgTypes(): PgType[] {
  return [...byOid.values()].sort((a, b) => a.oid - b.oid);
}

/**
 * Resolves a type name as PostgreSQL's ::regtype would: typnames ('int4',
 * '_int4'), SQL spellings ('integer', 'double precision', 'character
 * varying(10)', 'timestamp(3) with time zone'), and a trailing '[]' for the
 * array type. Case and extra spaces do not matter; type modifiers are ignored
 * except float(p), whose precision picks float4 or float8.
 */
export function pgTypeByName(name: string): PgType | undefined {
  let key = name.trim().toLowerCase().replace(/\s+/g, ' ');
  let array = false;
  const arraySuffix = /\s*(\[\d*\])+$/.exec(key);
  if (arraySuffix) {
    array = true;
    key = key.slice(0, arraySuffix.index);
  }
  if (key.startsWith('pg_catalog.')) key = key.slice('pg_catalog.'.length);
  const floatPrecision = /^float\s*\(\s*(\d+)\s*\)$/.exec(key);
  if (floatPrecision) {
    const p = Number(floatPrecision[1]);
    if (p < 1 || p > 53) return undefined;
    key = p <= 24 ? 'float4' : 'float8';
  }
  key = key.replace(/\s*\([^)]*\)/g, '').trim();
  const type = byName.get(ALIASES[key] ?? key);
  if (!type || !array) return type;
  return type.category === 'A' ? type : byOid.get(type.arrayOid);
}
