/** HostPortTasks: which tasks served each host port of an instance, across looks at its tasks. */
import { HostPortTasks, InstanceTask } from '../../../lib/drain/ecs';

const task = (taskArn: string, over: Partial<InstanceTask> = {}): InstanceTask => ({ taskArn, service: 'web', stopped: false, hostPorts: [], ...over });

test('a port is stopped once every task seen serving it has stopped, even when the stopped task no longer lists its bindings', () => {
  const ports = new HostPortTasks();
  ports.record([task('a', { hostPorts: [32768] }), task('b', { service: 'api', hostPorts: [32769] })]);
  expect(ports.servedBy(32768)).toEqual({ stopped: false, services: ['web'] });
  ports.record([task('a', { stopped: true }), task('b', { service: 'api', hostPorts: [32769] })]);
  expect(ports.servedBy(32768)).toEqual({ stopped: true, services: ['web'] });
  expect(ports.servedBy(32769)).toEqual({ stopped: false, services: ['api'] });
});

test('a task missing from one answer keeps its last state: never assumed stopped', () => {
  const ports = new HostPortTasks();
  ports.record([task('a', { hostPorts: [32768] })]);
  ports.record([]);
  expect(ports.servedBy(32768)?.stopped).toBe(false);
});

test('a port a new task took after the old one stopped is not stopped until that one is', () => {
  const ports = new HostPortTasks();
  ports.record([task('old', { hostPorts: [32768] })]);
  ports.record([task('old', { stopped: true }), task('new', { service: undefined, hostPorts: [32768] })]);
  expect(ports.servedBy(32768)).toEqual({ stopped: false, services: ['web'] });
});

test('a port no task was seen serving has no evidence (undefined), nor has a task first seen stopped without bindings', () => {
  const ports = new HostPortTasks();
  ports.record([task('a', { stopped: true })]);
  expect(ports.servedBy(8080)).toBeUndefined();
  expect(ports.servedBy(32768)).toBeUndefined();
});
