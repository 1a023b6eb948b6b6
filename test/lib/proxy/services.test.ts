/** The services of the synthesized template, as compose and the local demo run them (lib/proxy/services.ts). */
import { loadModelFromTemplate } from '../../../lib/proxy/template';
import { readServices } from '../../../lib/proxy/services';
import { stackTemplate } from '../../support/stack-template';

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
/** A fresh copy of the default stack's template (web, web-canary, api, static). */
const copy = (): Template => JSON.parse(JSON.stringify(stackTemplate())) as Template;
const services = (template: Template) => readServices(template, loadModelFromTemplate(template, { onWarning: () => undefined }), 'fixture');
const ecsServices = (template: Template) => Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::ECS::Service');

test('one service per ECS service, named by its target group, with its desired count and health check path', () => {
  const template = copy();
  const ids = Object.fromEntries(ecsServices(template).map(([id]) => [id.replace(/^Service(\w+?)Service.*$/, '$1'), id]));
  expect(services(template)).toEqual([
    { name: 'web', logicalId: ids.web, targetGroups: ['web'], replicas: 2, healthCheckPaths: ['/health'] },
    { name: 'web-canary', logicalId: ids.webcanary, targetGroups: ['web-canary'], replicas: 1, healthCheckPaths: ['/health'] },
    { name: 'api', logicalId: ids.api, targetGroups: ['api'], replicas: 2, healthCheckPaths: ['/health'] },
    { name: 'static', logicalId: ids.static, targetGroups: ['static'], replicas: 2, healthCheckPaths: ['/health'] },
  ]);
});

test('one ECS service in several groups (the single-service shape) is one service named by its container', () => {
  const template = copy();
  const [[, web], ...others] = ecsServices(template);
  const groups = others.map(([, s]) => (s.Properties.LoadBalancers as unknown[])[0]);
  web.Properties.LoadBalancers = [...(web.Properties.LoadBalancers as unknown[]), ...groups].map((lb) => ({ ...(lb as object), ContainerName: 'app' }));
  for (const [id] of others) delete template.Resources[id];
  expect(services(template)).toEqual([{ name: 'app', logicalId: ecsServices(template)[0][0], targetGroups: ['web', 'web-canary', 'api', 'static'], replicas: 2, healthCheckPaths: ['/health'] }]);
});

test('a group no ECS service registers in gets one stand-in; ECS defaults to one task without DesiredCount', () => {
  const template = copy();
  const [[canaryId], [, api]] = ecsServices(template).slice(1);
  delete template.Resources[canaryId];
  delete api.Properties.DesiredCount;
  const byName = Object.fromEntries(services(template).map((s) => [s.name, s]));
  expect(byName.api.replicas).toBe(1);
  expect(byName['web-canary']).toEqual({ name: 'web-canary', targetGroups: ['web-canary'], replicas: 1, healthCheckPaths: ['/health'] });
});

test('a DesiredCount that is not a literal is a one-line error naming the service', () => {
  const template = copy();
  const [[id, web]] = ecsServices(template);
  web.Properties.DesiredCount = { Ref: 'Count' };
  expect(() => services(template)).toThrow(`fixture: ECS service ${id}.DesiredCount must be a literal count (got {"Ref":"Count"})`);
});
