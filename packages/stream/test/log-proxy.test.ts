import { MessageChannel } from 'node:worker_threads';
import { EmbeddedLog } from '@tracklane/log';
import { runLogConformance } from '@tracklane/log/conformance';
import { makeTempDir } from '@tracklane/test-utils';
import { serveLog } from '../src/workers/log-host.ts';
import { LogProxy } from '../src/workers/log-proxy.ts';

// The proxy a stream worker uses must behave as a Log in every respect the engine may rely on: the same
// suite the embedded, NATS and Kafka logs pass, run through a real MessagePort (records packed and
// transferred, errors carrying their codes across).
runLogConformance('LogProxy over a MessagePort to the embedded log', async () => {
  const dir = await makeTempDir();
  return {
    async open() {
      const log = await EmbeddedLog.open(dir.path, { retentionCheckIntervalMs: 0 });
      const { port1, port2 } = new MessageChannel();
      serveLog(port1, log);
      // Closing the proxy closes the served log too, so that the suite's restart can reopen the directory.
      return new LogProxy(port2, () => log.close());
    },
    cleanup: () => dir.remove(),
  };
});
