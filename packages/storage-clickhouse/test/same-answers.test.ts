import { join } from 'node:path';
import { ClickHouseStore } from '@tracklane/storage-clickhouse';
import { makeTempDir } from '@tracklane/test-utils';
import { chdbClient, chdbQueryClient } from './chdb-client.ts';
import { runSameAnswers } from './same-answers.ts';

runSameAnswers('ClickHouse (chdb)', async () => {
  const dir = await makeTempDir('tracklane-chdb-');
  const path = join(dir.path, 'chdb');
  const store = await ClickHouseStore.open({ client: chdbClient(path), queryClient: chdbQueryClient(path) });
  return {
    store,
    close: async () => {
      await store.close();
      await dir.remove();
    },
  };
});
