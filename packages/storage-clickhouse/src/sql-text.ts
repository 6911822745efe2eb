import { TracklaneError } from '@tracklane/core';
import type { QueryParam } from '@tracklane/storage';

/**
 * User SQL for the query API, read lexically (comments, string literals and quoted identifiers skipped):
 * one statement only, no non-query statement, and the Store's `$1` placeholders turned into ClickHouse's
 * typed `{p1:Type}` parameters, which the server binds (values never enter the SQL text).
 */

interface Token {
  text: string;
  start: number;
  end: number;
}

function tokens(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  // Every branch consumes at least one character, so the loop ends.
  while (i < n) {
    const c = sql[i]!;
    const start = i;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if ((c === '-' && sql[i + 1] === '-') || c === '#') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      // ClickHouse escapes with backslashes and by doubling the quote.
      i++;
      while (i < n) {
        if (sql[i] === '\\') i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i++;
      }
      i++;
      const text = c === "'" ? "'" : sql.slice(start + 1, i - 1).toLowerCase();
      out.push({ text, start, end: i });
      continue;
    }
    if (c === '$') {
      const param = /^\$(\d+)/.exec(sql.slice(i));
      if (param !== null) {
        i += param[0].length;
        out.push({ text: param[0], start, end: i });
        continue;
      }
      const heredoc = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (heredoc !== null) {
        const end = sql.indexOf(heredoc[0], i + heredoc[0].length);
        i = end < 0 ? n : end + heredoc[0].length;
        out.push({ text: "'", start, end: i });
        continue;
      }
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i));
    if (word !== null) {
      i += word[0].length;
      out.push({ text: word[0].toLowerCase(), start, end: i });
      continue;
    }
    i++;
    out.push({ text: c, start, end: i });
  }
  return out;
}

const QUERY_STARTS = new Set(['select', 'with', '(', 'explain', 'describe', 'desc', 'show', 'exists']);

/** Statements refused by name, so they get E_READ_ONLY_SQL rather than a syntax error. */
const STATEMENTS = new Set(
  `insert update delete alter create drop truncate rename exchange attach detach optimize system kill grant
   revoke set use check undrop move backup restore watch begin commit rollback copy merge upsert replace
   do call vacuum analyze pragma install load`.split(/\s+/),
);

export interface PreparedQuery {
  sql: string;
  params: Record<string, unknown>;
}

/** Checks `sql` is one read-only query and rewrites `$n` placeholders to bound ClickHouse parameters. */
export function prepareReadOnlyQuery(sql: string, params: readonly QueryParam[] = []): PreparedQuery {
  const all = tokens(sql);
  while (all.at(-1)?.text === ';') all.pop();
  const statements = all.filter((t) => t.text === ';').length + 1;
  if (statements > 1) {
    throw new TracklaneError(
      'E_READ_ONLY_SQL',
      `send exactly one SELECT statement (got ${statements}); run them one request at a time`,
    );
  }
  const first = all[0]?.text;
  if (first !== undefined && !QUERY_STARTS.has(first) && STATEMENTS.has(first)) {
    throw new TracklaneError(
      'E_READ_ONLY_SQL',
      'only read-only SELECT queries are allowed here (no INSERT, ALTER, DELETE, DDL, SYSTEM, SET or KILL)',
    );
  }
  for (const [i, token] of all.entries()) {
    const next = all[i + 1]?.text;
    // The result is read as JSON rows; another output format or a file target has no place here.
    if (
      (token.text === 'format' && next !== '(' && next !== undefined) ||
      (token.text === 'into' && next === 'outfile')
    ) {
      throw new TracklaneError('E_READ_ONLY_SQL', 'FORMAT and INTO OUTFILE are not allowed in the query API');
    }
  }
  let text = '';
  let at = 0;
  const bound: Record<string, unknown> = {};
  for (const token of all) {
    if (!/^\$\d+$/.test(token.text)) continue;
    const index = Number(token.text.slice(1));
    if (index < 1 || index > params.length) {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        `${token.text} has no value: ${params.length} parameter(s) given`,
      );
    }
    const value = params[index - 1]!;
    text += `${sql.slice(at, token.start)}{p${index}:${parameterType(value)}}`;
    at = token.end;
    bound[`p${index}`] = value;
  }
  return { sql: text + sql.slice(at), params: bound };
}

function parameterType(value: QueryParam): string {
  if (value === null) return 'Nullable(String)';
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) ? 'Int64' : 'Float64';
    case 'boolean':
      return 'Bool';
    default:
      return 'String';
  }
}
