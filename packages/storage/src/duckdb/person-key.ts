/**
 * The stored 64-bit key of an id (user id, anonymous id, person id): the first 63 bits of its MD5, as a
 * non-negative BIGINT. Events carry the key of their own id (`distinct_key`), identities the keys of both
 * ends of a link, so analytics group and join people on integers instead of hashing text on every query.
 *
 * MD5 rather than DuckDB's `hash()`: keys are written once and compared with keys written years later, so
 * the function must never change with an engine upgrade, and PostgreSQL and ClickHouse can compute the same
 * value (`('x' || left(md5(id), 16))::bit(64) >> 1`). Two ids share a key with probability ~n²/2⁶⁴: for
 * 10 million distinct ids about 1 in 200,000, and the cost of one would be two people counted as one.
 */
export function idKeySql(id: string): string {
  return `CAST(CAST('0x' || left(md5(${id}), 16) AS UBIGINT) >> 1 AS BIGINT)`;
}

/** The id an event's person is found by: its user id when identified, else its anonymous id. */
export const EVENT_DISTINCT_ID = 'coalesce(user_id, anonymous_id)';
