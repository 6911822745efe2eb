import { TracklaneError } from '@tracklane/core';

/**
 * The first line of the query API's defence, before PostgreSQL's own: the statement runs in a READ ONLY
 * transaction as a role with nothing but SELECT grants, and this check refuses what those two do not stop
 * or would report confusingly: several statements, non-queries (SET ROLE and RESET ROLE would undo the role
 * switch), and functions that change the role or touch the server's files from inside a SELECT.
 */

const QUERY_STARTS = new Set(['select', 'with', 'values', 'table', '(']);

/** Statements refused by name, so they get E_READ_ONLY_SQL instead of a syntax error. */
const STATEMENTS = new Set(
  `insert update delete merge upsert create drop alter truncate copy grant revoke set reset do call lock vacuum
   analyze cluster reindex comment security listen notify unlisten prepare execute deallocate discard begin
   commit rollback start end abort savepoint release load import refresh declare fetch move close checkpoint
   explain show attach detach pragma install use replace rename optimize system kill`.split(/\s+/),
);

/** `set_config('role', ...)` would undo SET ROLE; the rest reach outside the database. */
const FUNCTIONS =
  /^(set_config|pg_read_file|pg_read_binary_file|pg_ls_dir|pg_stat_file|pg_ls_\w+|lo_\w+|dblink\w*|pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|pg_promote|pg_file_\w+|pg_logdir_ls|query_to_xml\w*|table_to_xml\w*|cursor_to_xml\w*|database_to_xml\w*|schema_to_xml\w*)$/;

/** Words and punctuation of `sql`, comments and string literals removed, quoted identifiers unquoted. */
export function sqlTokens(sql: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  const n = sql.length;
  // Each step consumes at least one character, so the loop ends.
  while (i < n) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      // PostgreSQL block comments nest.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (c === "'") {
      // '' inside a literal is an escaped quote; E'\'' is handled by treating backslash-escapes as skips.
      const escaped = /[eE]$/.test(tokens.at(-1) ?? '') && /[eE]/.test(sql[i - 1] ?? '');
      i++;
      while (i < n) {
        if (escaped && sql[i] === '\\') i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") break;
        else i++;
      }
      i++;
      tokens.push("'");
    } else if (c === '"') {
      let end = i + 1;
      let name = '';
      while (end < n) {
        if (sql[end] === '"' && sql[end + 1] === '"') {
          name += '"';
          end += 2;
        } else if (sql[end] === '"') break;
        else name += sql[end++];
      }
      tokens.push(name.toLowerCase());
      i = end + 1;
    } else if (c === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (tag === null) {
        const param = /^\$\d+/.exec(sql.slice(i));
        tokens.push(param?.[0] ?? '$');
        i += param?.[0].length ?? 1;
      } else {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        i = end < 0 ? n : end + tag[0].length;
        tokens.push("'");
      }
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      const word = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(sql.slice(i))![0];
      tokens.push(word.toLowerCase());
      i += word.length;
    } else {
      tokens.push(c);
      i++;
    }
  }
  return tokens;
}

/** Throws E_READ_ONLY_SQL unless `sql` is one query that cannot escape the reader role. */
export function assertReadOnlySql(sql: string): void {
  const tokens = sqlTokens(sql);
  while (tokens.at(-1) === ';') tokens.pop();
  const statements = tokens.filter((t) => t === ';').length + 1;
  if (statements > 1) {
    throw new TracklaneError(
      'E_READ_ONLY_SQL',
      `send exactly one SELECT statement (got ${statements}); run them one request at a time`,
    );
  }
  const first = tokens[0];
  if (first !== undefined && !QUERY_STARTS.has(first) && STATEMENTS.has(first)) {
    throw new TracklaneError(
      'E_READ_ONLY_SQL',
      'only read-only SELECT queries are allowed here (no INSERT, UPDATE, DELETE, DDL, COPY, SET or transaction control)',
    );
  }
  for (const [i, token] of tokens.entries()) {
    if (FUNCTIONS.test(token) && tokens[i + 1] === '(') {
      throw new TracklaneError('E_READ_ONLY_SQL', `${token}() is not allowed in the query API`);
    }
  }
}
