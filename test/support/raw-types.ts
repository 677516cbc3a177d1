import type pg from 'pg';

/** node-postgres type parsers that leave every value as the text the server sent, so results compare as PostgreSQL's text. */
export const rawTypes = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;
