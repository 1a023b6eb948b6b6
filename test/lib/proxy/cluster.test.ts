/** The cluster primary's record of registrations and a worker's sync to it (the CLI test runs them across processes). */
import pino from 'pino';
import { RegistrationSet, reconcileTargets } from '../../../lib/proxy/cluster';
import { createLoadBalancerRuntime } from '../../../lib/proxy/runtime';
import { defaultGroup, groupForPath, stackModel } from './support/proxy';

const model = stackModel();
const APP = defaultGroup(model);
const API = groupForPath(model, '/api/*');
const logicalId = (name: string) => Object.values(model.targetGroups).find((g) => g.name === name)!.logicalId;
const log = pino({ level: 'silent' });
const at = (port: number) => ({ host: '127.0.0.1', port });

test('RegistrationSet: start-up targets plus relayed changes, keyed by logical id whichever name a change used', () => {
  const set = new RegistrationSet(model, { [APP]: [at(1), at(2)] });
  set.apply({ op: 'deregister', targetGroup: logicalId(APP), target: '127.0.0.1:1' });
  set.apply({ op: 'register', targetGroup: API, target: '127.0.0.1:3' });
  set.apply({ op: 'register', targetGroup: API, target: '127.0.0.1:3' });
  set.apply({ op: 'register', targetGroup: 'no-such-group', target: '127.0.0.1:4' });
  const snapshot = set.snapshot();
  expect(snapshot[logicalId(APP)]).toEqual([at(2)]);
  expect(snapshot[logicalId(API)]).toEqual([at(3)]);
  expect(Object.keys(snapshot).sort()).toEqual(Object.keys(model.targetGroups).sort());
});

test('reconcileTargets: registers what is missing or draining, deregisters what is gone, leaves the rest as it is', async () => {
  const runtime = createLoadBalancerRuntime(model, { [APP]: [at(1), at(2)], [API]: [at(5)] }, { timeScale: 0.001 });
  void runtime.targetGroup(API)!.deregister('127.0.0.1:5');
  reconcileTargets(runtime, { [logicalId(APP)]: [at(2), at(3)], [logicalId(API)]: [at(5)] }, log);
  const state = (name: string) => Object.fromEntries(runtime.targetGroup(name)!.status().map((t) => [t.id, t.state]));
  expect(state(APP)).toEqual({ '127.0.0.1:1': 'draining', '127.0.0.1:2': 'initial', '127.0.0.1:3': 'initial' });
  expect(state(API)).toEqual({ '127.0.0.1:5': 'initial' });
  await runtime.stop();
});
