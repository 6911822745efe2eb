import { join } from 'node:path';
import type { TrackedEvent } from '@tracklane/core';
import { runSameAnswers } from '@tracklane/storage/conformance';
import { ClickHouseStore } from '@tracklane/storage-clickhouse';
import { makeTempDir } from '@tracklane/test-utils';
// The analytics package's hand-checked world (not exported by it; a test-only import by path).
import { PEOPLE } from '../../analytics/test/dataset.ts';
import { chdbClient, chdbQueryClient } from './chdb-client.ts';

const dataset = { events: PEOPLE as TrackedEvent[], erase: { userId: 'alice', anonymousId: 'a-anon' } };

runSameAnswers(
  'ClickHouse (chdb)',
  async () => {
    const dir = await makeTempDir('tracklane-chdb-');
    const path = join(dir.path, 'chdb');
    const store = await ClickHouseStore.open({
      client: chdbClient(path),
      queryClient: chdbQueryClient(path),
    });
    return {
      store,
      close: async () => {
        await store.close();
        await dir.remove();
      },
    };
  },
  dataset,
);
