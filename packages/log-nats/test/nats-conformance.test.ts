import { after, before, describe } from 'node:test';
import { runLogConformance } from '@tracklane/log/conformance';
import { natsFixture } from './conformance-fixture.ts';
import {
  type NatsCluster,
  type NatsNode,
  natsServerMissing,
  startNatsCluster,
  startNatsServer,
} from './nats-server.ts';

const skip = natsServerMissing();

describe('NatsLog on one nats-server', { skip }, () => {
  let server: NatsNode & { servers: string[] };
  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await server?.stop();
  });
  runLogConformance(
    'NatsLog (single node)',
    natsFixture(() => server.servers, 1),
  );
});

describe('NatsLog on a 3-node nats-server cluster, R3', { skip }, () => {
  let cluster: NatsCluster;
  before(async () => {
    cluster = await startNatsCluster(3);
  });
  after(async () => {
    await cluster?.stop();
  });
  runLogConformance(
    'NatsLog (3-node cluster, R3)',
    natsFixture(() => cluster.servers, 3),
  );
});
