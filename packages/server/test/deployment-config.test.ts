import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTracklaneError } from '@tracklane/core';
import { makeTempDir } from '@tracklane/test-utils';
import { parseDeploymentConfig, startCollectorRole } from '../src/index.ts';

const VALID = {
  keys: { writeKeys: ['wk_0123456789'], apiKey: 'ak_0123456789' },
  log: { kind: 'nats', servers: ['nats://127.0.0.1:4222'], replicas: 3 },
  store: { kind: 'postgres', url: 'postgres://tracklane@127.0.0.1:5432/tracklane' },
};

function problems(input: unknown): string {
  try {
    parseDeploymentConfig(input, 'test.json');
  } catch (err) {
    assert.ok(isTracklaneError(err) && err.code === 'E_CONFIG', `expected E_CONFIG, got ${err}`);
    return err.message;
  }
  assert.fail('expected the config to be rejected');
}

describe('the deployment config file', () => {
  it('fills defaults for everything but keys, log and store', () => {
    const config = parseDeploymentConfig(VALID);
    assert.equal(config.dataDir, '.tracklane');
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.eventPartitions, 4);
    assert.equal(config.processor.pipelines, true);
    assert.deepEqual(config.log, VALID.log);
  });

  it('names an unknown log kind and lists the kinds there are', () => {
    assert.match(
      problems({ ...VALID, log: { kind: 'redis' } }),
      /\/log\/kind: must be one of 'embedded', 'nats', 'kafka', got 'redis'/,
    );
  });

  it('names the missing and the mistyped fields of the chosen kind', () => {
    const message = problems({ ...VALID, log: { kind: 'nats', replicas: 2 }, store: { kind: 'postgres' } });
    assert.match(message, /\/log\/servers: /);
    assert.match(message, /\/log\/replicas: /);
    assert.match(message, /\/store\/url: /);
  });

  it('names a misspelt field instead of ignoring it', () => {
    assert.match(problems({ ...VALID, store: { ...VALID.store, uri: 'x' } }), /\/store\/uri: unknown field/);
    assert.match(problems({ ...VALID, colector: {} }), /\/colector: unknown field/);
  });

  it('requires the shared keys, since split roles must never generate their own', () => {
    assert.match(problems({ log: VALID.log, store: VALID.store }), /\/keys: /);
  });

  it('refuses the embedded log for a split role, and says what to use instead', async () => {
    await using dir = await makeTempDir();
    const config = parseDeploymentConfig({ ...VALID, dataDir: dir.path, log: { kind: 'embedded' } });
    await assert.rejects(startCollectorRole(config), (err: Error) => {
      assert.ok(isTracklaneError(err) && err.code === 'E_CONFIG');
      assert.match(err.message, /locked by one process/);
      assert.match(err.message, /'nats' or 'kafka'/);
      assert.match(err.message, /tracklane start/);
      return true;
    });
  });

  describe('log.groupProtocol (kind kafka)', () => {
    const kafka = { kind: 'kafka', brokers: ['127.0.0.1:9092'] };

    it('accepts auto, consumer and classic, and leaves it unset by default', () => {
      for (const groupProtocol of ['auto', 'consumer', 'classic']) {
        const config = parseDeploymentConfig({ ...VALID, log: { ...kafka, groupProtocol } });
        assert.deepEqual(config.log, { ...kafka, groupProtocol });
      }
      const config = parseDeploymentConfig({ ...VALID, log: kafka });
      assert.ok(config.log.kind === 'kafka' && config.log.groupProtocol === undefined);
    });

    it('names the protocols there are when given another', () => {
      assert.match(
        problems({ ...VALID, log: { ...kafka, groupProtocol: 'cooperative' } }),
        /\/log\/groupProtocol: must be one of 'auto', 'consumer', 'classic', got "cooperative"/,
      );
      assert.match(
        problems({ ...VALID, log: { ...kafka, groupProtocol: 848 } }),
        /\/log\/groupProtocol: must be one of 'auto', 'consumer', 'classic', got 848/,
      );
    });

    it('is a Kafka field: the NATS log refuses it', () => {
      assert.match(
        problems({ ...VALID, log: { ...VALID.log, groupProtocol: 'consumer' } }),
        /\/log\/groupProtocol: unknown field/,
      );
    });
  });

  describe('processor.standby', () => {
    it("is 'cold' unless set to 'warm'", () => {
      assert.equal(parseDeploymentConfig(VALID).processor.standby, 'cold');
      assert.equal(
        parseDeploymentConfig({ ...VALID, processor: { standby: 'warm' } }).processor.standby,
        'warm',
      );
    });

    it('refuses anything else, listing the choices', () => {
      assert.match(
        problems({ ...VALID, processor: { standby: 'hot' } }),
        /\/processor\/standby: must be one of 'cold', 'warm', got "?hot"?/,
      );
    });
  });

  describe('processor.streamWorkers', () => {
    it('is optional, and takes any whole number >= 0 (0: the main thread)', () => {
      assert.equal(parseDeploymentConfig(VALID).processor.streamWorkers, undefined);
      for (const streamWorkers of [0, 1, 4]) {
        const config = parseDeploymentConfig({ ...VALID, processor: { streamWorkers } });
        assert.equal(config.processor.streamWorkers, streamWorkers);
        assert.equal(config.processor.pipelines, true, 'the other processor defaults still apply');
      }
    });

    it('refuses negative, fractional and non-numeric counts, naming the field', () => {
      assert.match(
        problems({ ...VALID, processor: { streamWorkers: -1 } }),
        /\/processor\/streamWorkers: expected integer to be greater or equal to 0/,
      );
      assert.match(
        problems({ ...VALID, processor: { streamWorkers: 1.5 } }),
        /\/processor\/streamWorkers: expected integer/,
      );
      assert.match(
        problems({ ...VALID, processor: { streamWorkers: '2' } }),
        /\/processor\/streamWorkers: expected integer/,
      );
    });
  });
});
