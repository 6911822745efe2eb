import { EmbeddedLog } from '@tracklane/log';
import { runLogConformance } from '@tracklane/log/conformance';
import { makeTempDir } from '@tracklane/test-utils';

runLogConformance('EmbeddedLog', async () => {
  const dir = await makeTempDir('tracklane-log-');
  return {
    open: () => EmbeddedLog.open(dir.path, { retentionCheckIntervalMs: 0 }),
    cleanup: () => dir.remove(),
  };
});
