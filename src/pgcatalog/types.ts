// pg_type rows and format_type() spellings for the types in src/types/pg-types.ts:
// the physical attributes PostgreSQL 15 gives each type (typbyval, typalign,
// typstorage, I/O functions), so catalog queries see the real values.

import { allPgTypes, pgTypeByOid, type PgType } from '../types/pg-types.js';

/** How format_type() writes a typmod: varchar(n), numeric(p,s), time(p) with…, bit(n). */
type ModifierStyle = 'none' | 'length' | 'bits' | 'numeric' | 'precision';

type Physical = {
  byval: boolean;
  align: 'c' | 's' | 'i' | 'd';
  storage: 'p' | 'x' | 'm' | 'e';
  /** typinput; output/receive/send are derived from it as PostgreSQL names them. */
  input: string;
  /** format_type's spelling: prefix + modifier + suffix. */
  prefix: string;
  suffix?: string;
  modifiers?: ModifierStyle;
  typmodin?: string;
  preferred?: boolean;
  collatable?: boolean;
};

const PHYSICAL: Record<string, Physical> = {
  bool: { byval: true, align: 'c', storage: 'p', input: 'boolin', prefix: 'boolean', preferred: true },
  bytea: { byval: false, align: 'i', storage: 'x', input: 'byteain', prefix: 'bytea' },
  char: { byval: true, align: 'c', storage: 'p', input: 'charin', prefix: '"char"' },
  name: { byval: false, align: 'c', storage: 'p', input: 'namein', prefix: 'name', collatable: true },
  int8: { byval: true, align: 'd', storage: 'p', input: 'int8in', prefix: 'bigint' },
  int2: { byval: true, align: 's', storage: 'p', input: 'int2in', prefix: 'smallint' },
  int4: { byval: true, align: 'i', storage: 'p', input: 'int4in', prefix: 'integer' },
  regproc: { byval: true, align: 'i', storage: 'p', input: 'regprocin', prefix: 'regproc' },
  text: { byval: false, align: 'i', storage: 'x', input: 'textin', prefix: 'text', preferred: true, collatable: true },
  oid: { byval: true, align: 'i', storage: 'p', input: 'oidin', prefix: 'oid', preferred: true },
  json: { byval: false, align: 'i', storage: 'x', input: 'json_in', prefix: 'json' },
  xml: { byval: false, align: 'i', storage: 'x', input: 'xml_in', prefix: 'xml' },
  float4: { byval: true, align: 'i', storage: 'p', input: 'float4in', prefix: 'real' },
  float8: { byval: true, align: 'd', storage: 'p', input: 'float8in', prefix: 'double precision', preferred: true },
  unknown: { byval: false, align: 'c', storage: 'p', input: 'unknownin', prefix: 'unknown' },
  bpchar: { byval: false, align: 'i', storage: 'x', input: 'bpcharin', prefix: 'character', modifiers: 'length', typmodin: 'bpchartypmodin', collatable: true },
  varchar: { byval: false, align: 'i', storage: 'x', input: 'varcharin', prefix: 'character varying', modifiers: 'length', typmodin: 'varchartypmodin', collatable: true },
  date: { byval: true, align: 'i', storage: 'p', input: 'date_in', prefix: 'date' },
  time: { byval: true, align: 'd', storage: 'p', input: 'time_in', prefix: 'time', suffix: ' without time zone', modifiers: 'precision', typmodin: 'timetypmodin' },
  timestamp: { byval: true, align: 'd', storage: 'p', input: 'timestamp_in', prefix: 'timestamp', suffix: ' without time zone', modifiers: 'precision', typmodin: 'timestamptypmodin' },
  timestamptz: { byval: true, align: 'd', storage: 'p', input: 'timestamptz_in', prefix: 'timestamp', suffix: ' with time zone', modifiers: 'precision', typmodin: 'timestamptztypmodin', preferred: true },
  interval: { byval: false, align: 'd', storage: 'p', input: 'interval_in', prefix: 'interval', typmodin: 'intervaltypmodin', preferred: true },
  timetz: { byval: false, align: 'd', storage: 'p', input: 'timetz_in', prefix: 'time', suffix: ' with time zone', modifiers: 'precision', typmodin: 'timetztypmodin' },
  bit: { byval: false, align: 'i', storage: 'x', input: 'bit_in', prefix: 'bit', modifiers: 'bits', typmodin: 'bittypmodin' },
  varbit: { byval: false, align: 'i', storage: 'x', input: 'varbit_in', prefix: 'bit varying', modifiers: 'bits', typmodin: 'varbittypmodin', preferred: true },
  numeric: { byval: false, align: 'i', storage: 'm', input: 'numeric_in', prefix: 'numeric', modifiers: 'numeric', typmodin: 'numerictypmodin' },
  regclass: { byval: true, align: 'i', storage: 'p', input: 'regclassin', prefix: 'regclass' },
  regtype: { byval: true, align: 'i', storage: 'p', input: 'regtypein', prefix: 'regtype' },
  uuid: { byval: false, align: 'c', storage: 'p', input: 'uuid_in', prefix: 'uuid' },
  jsonb: { byval: false, align: 'i', storage: 'x', input: 'jsonb_in', prefix: 'jsonb' },
};

/** PostgreSQL's OIDs of the default and "C" collations. */
export const DEFAULT_COLLATION_OID = 100;
export const C_COLLATION_OID = 950;

/** The I/O function names PostgreSQL derives from typinput (`int4in` → `int4out`, `date_in` → `date_out`). */
function ioFunctions(input: string): { output: string; receive: string; send: string } {
  const base = input.endsWith('_in') ? input.slice(0, -3) : input.slice(0, -2);
  const sep = input.endsWith('_in') ? '_' : '';
  return { output: `${base}${sep}out`, receive: `${base}${sep}recv`, send: `${base}${sep}send` };
}

export type PgTypeRow = {
  oid: number;
  typname: string;
  typlen: number;
  typbyval: boolean;
  typtype: string;
  typcategory: string;
  typispreferred: boolean;
  typdelim: string;
  typsubscript: string;
  typelem: number;
  typarray: number;
  typinput: string;
  typoutput: string;
  typreceive: string;
  typsend: string;
  typmodin: string;
  typmodout: string;
  typalign: string;
  typstorage: string;
  typcollation: number;
  /** format_type(): text before and after the modifier, how the modifier is written, and '[]' for arrays. */
  formatPrefix: string;
  formatSuffix: string;
  modifierStyle: ModifierStyle;
  isArray: boolean;
};

function physicalOf(type: PgType): Physical {
  const physical = PHYSICAL[type.name];
  if (!physical) throw new Error(`no pg_type details for ${type.name}`);
  return physical;
}

/** One pg_type row per type Arka speaks, arrays included. */
export function pgTypeRows(): PgTypeRow[] {
  return allPgTypes().map((type): PgTypeRow => {
    const isArray = type.category === 'A';
    const element = isArray ? pgTypeByOid(type.elemOid)! : type;
    const physical = physicalOf(element);
    const collation = physical.collatable ? (element.name === 'name' ? C_COLLATION_OID : DEFAULT_COLLATION_OID) : 0;
    const typmodin = physical.typmodin ?? '-';
    const common = {
      oid: type.oid,
      typname: type.name,
      typlen: type.typlen,
      typcategory: type.category,
      typtype: 'b',
      typdelim: ',',
      typelem: type.elemOid,
      typarray: type.arrayOid,
      typmodin,
      typmodout: typmodin === '-' ? '-' : typmodin.replace(/typmodin$/, 'typmodout'),
      typcollation: collation,
      formatPrefix: physical.prefix,
      formatSuffix: physical.suffix ?? '',
      modifierStyle: physical.modifiers ?? 'none',
      isArray,
    };
    if (isArray) {
      return {
        ...common,
        typbyval: false,
        typispreferred: false,
        typsubscript: 'array_subscript_handler',
        typinput: 'array_in',
        typoutput: 'array_out',
        typreceive: 'array_recv',
        typsend: 'array_send',
        typalign: physical.align === 'd' ? 'd' : 'i',
        typstorage: 'x',
      };
    }
    const io = ioFunctions(physical.input);
    return {
      ...common,
      typbyval: physical.byval,
      typispreferred: physical.preferred === true,
      typsubscript: type.name === 'name' ? 'raw_array_subscript_handler' : type.name === 'jsonb' ? 'jsonb_subscript_handler' : '-',
      typinput: physical.input,
      typoutput: io.output,
      typreceive: io.receive,
      typsend: io.send,
      typalign: physical.align,
      typstorage: physical.storage,
    };
  });
}
