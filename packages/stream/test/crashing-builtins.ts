import {
  builtinPipelines,
  decodeJson,
  EVENTS_TOPIC,
  from,
  type PipelineFactory,
  type Sink,
} from '../src/index.ts';

export interface CrashData {
  exact: boolean;
  /** The worker that dies. */
  crashWorker: number;
  /** It throws an uncaught error once it has seen this many records... */
  crashAfterRecords: number;
  /**
   * ...or this long after its pipelines are built, whichever comes first: under load the other worker can
   * join first and consume every record there is before this one is assigned any partition.
   */
  crashAfterMs: number;
}

const nothing: Sink<unknown> = { async write() {} };

/**
 * The built-in pipelines plus one that makes worker `crashWorker` throw an uncaught error (outside the
 * engine's retry and dead-letter handling, as a bug in a library would) mid-stream.
 */
export const crashingBuiltins: PipelineFactory<CrashData> = async (context) => {
  const pipelines = await builtinPipelines({
    ...context,
    data: { exact: context.data.exact, tableSuffix: '' },
  });
  if (context.worker !== context.data.crashWorker) return pipelines;
  let seen = 0;
  let thrown = false;
  const crash = () => {
    if (thrown) return;
    thrown = true;
    setImmediate(() => {
      throw new Error('stream worker crash (test)');
    });
  };
  setTimeout(crash, context.data.crashAfterMs).unref();
  const bomb = from(context.log, EVENTS_TOPIC, decodeJson)
    .filter(() => {
      if (++seen === context.data.crashAfterRecords) crash();
      return false;
    })
    .to(nothing, { name: 'bomb' });
  return [...pipelines, bomb];
};
