import { TracklaneError } from '@tracklane/core';
import type { PipelineFactory } from '../workers/protocol.ts';
import { BUILTIN_PIPELINES } from './builtin.ts';

/** What `startBuiltinPipelines` hands its worker threads. */
export interface BuiltinWorkerData {
  exact: boolean;
  /** Appended to every table name (a warm standby's shadow tables). */
  tableSuffix: string;
}

/** Builds the built-in pipelines in a stream worker thread (see `startBuiltinPipelines`' `workers`). */
export const builtinPipelines: PipelineFactory<BuiltinWorkerData> = ({ log, store, data }) => {
  if (store === undefined) {
    throw new TracklaneError('E_BAD_ARGUMENT', 'the built-in pipelines write to a store: give the pool one');
  }
  return BUILTIN_PIPELINES.map((p) =>
    p.build({ log, store, tableName: `${p.name}${data.tableSuffix}`, exact: data.exact }),
  );
};
